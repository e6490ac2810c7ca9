namespace Avatar.Api.Infrastructure;

/// <summary>Collects field errors for a ValidationProblem, naming each field as the client sent it.</summary>
public sealed class Validation
{
    /// <summary>Errors by field name.</summary>
    public Dictionary<string, string[]> Errors { get; } = [];

    /// <summary>A required text field of bounded length.</summary>
    public Validation Text(string field, string? value, int min, int max, string? mustContain = null)
    {
        if (value is null || value.Trim().Length < min)
        {
            Add(field, min > 0 ? $"{field} is required." : $"{field} is too short.");
        }
        else if (value.Length > max)
        {
            Add(field, $"{field} must be at most {max} characters.");
        }
        else if (value.Contains('\0', StringComparison.Ordinal))
        {
            // PostgreSQL's text cannot hold NUL: refused here, it is the client's 400, not the database's 500.
            Add(field, $"{field} must not contain NUL characters.");
        }
        else if (mustContain is not null && !value.Contains(mustContain, StringComparison.Ordinal))
        {
            Add(field, $"{field} is not valid.");
        }
        return this;
    }

    /// <summary>An optional text field of bounded length.</summary>
    public Validation OptionalText(string field, string? value, int max) => value is null ? this : Text(field, value, 0, max);

    /// <summary>A required value from a fixed set.</summary>
    public Validation OneOf(string field, string? value, IReadOnlyCollection<string> allowed)
    {
        if (value is null || !allowed.Contains(value))
        {
            Add(field, $"{field} must be one of: {string.Join(", ", allowed)}.");
        }
        return this;
    }

    /// <summary>Adds an error unless the condition holds.</summary>
    public Validation Require(bool condition, string field, string message)
    {
        if (!condition)
        {
            Add(field, message);
        }
        return this;
    }

    private void Add(string field, string message) =>
        Errors[field] = Errors.TryGetValue(field, out var existing) ? [.. existing, message] : [message];
}
