namespace Avatar.Api.Infrastructure;

/// <summary>One page of a list. <paramref name="Next"/> is the <c>after</c> value of the next page, null on the last.</summary>
/// <param name="Items">The items, oldest first.</param>
/// <param name="Next">Pass as <c>?after=</c> to get the next page.</param>
public sealed record Page<T>(IReadOnlyList<T> Items, Guid? Next);

/// <summary>Keyset pagination over time-ordered ids: no offsets, so pages stay correct while rows are added.</summary>
public static class Paging
{
    /// <summary>Default and maximum page sizes.</summary>
    public const int DefaultLimit = 50, MaxLimit = 200;

    /// <summary>Validates <c>limit</c>; returns an error message or null.</summary>
    public static string? Check(int? limit) => limit is < 1 or > MaxLimit ? $"limit must be between 1 and {MaxLimit}." : null;

    /// <summary>Builds a page from up to limit + 1 rows (the extra row only says that there is a next page).</summary>
    public static Page<T> Of<T>(IReadOnlyList<T> rows, int limit, Func<T, Guid> id) =>
        rows.Count > limit ? new Page<T>([.. rows.Take(limit)], id(rows[limit - 1])) : new Page<T>(rows, null);
}
