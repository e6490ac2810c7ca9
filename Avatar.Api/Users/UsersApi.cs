using Avatar.Api.Infrastructure;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Avatar.Api.Users;

/// <summary>Sign-up: what a new user sends.</summary>
/// <param name="Name">Display name, 1 to 100 characters.</param>
/// <param name="Email">E-mail address, unique.</param>
public sealed record CreateUserRequest(string? Name, string? Email);

/// <summary>A new user, with the API key shown this once.</summary>
public sealed record CreatedUser(Guid Id, string Name, string Email, string ApiKey);

/// <summary>The signed-in user.</summary>
public sealed record User(Guid Id, string Name, string Email, DateTime CreatedAt);

/// <summary>/v1/users.</summary>
public static class UsersApi
{
    /// <summary>Maps the endpoints.</summary>
    public static RouteGroupBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/users").WithTags("Users");
        group.MapPost("/", CreateUser).AllowAnonymous().RequireRateLimiting(ApiRateLimiting.SignUp);
        group.MapGet("/me", GetMe).RequireAuthorization().RequireRateLimiting(ApiRateLimiting.PerKey);
        return group;
    }

    /// <summary>Creates a user and returns its API key (stored only as a hash).</summary>
    public static async Task<Results<Created<CreatedUser>, ValidationProblem, Conflict<ProblemDetails>>> CreateUser(
        CreateUserRequest request, NpgsqlDataSource db, TimeProvider time)
    {
        var errors = new Validation()
            .Text("name", request.Name, 1, 100)
            .Text("email", request.Email, 3, 254, mustContain: "@")
            .Errors;
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        var key = ApiKeyAuthentication.NewKey();
        var user = new CreatedUser(Guid.CreateVersion7(), request.Name!, request.Email!, key);
        await using var connection = await db.OpenConnectionAsync();
        try
        {
            await connection.ExecuteAsync(
                "INSERT INTO users (id, name, email, api_key_hash, created_at) VALUES (@Id, @Name, @Email, @Hash, @Now)",
                new { user.Id, user.Name, user.Email, Hash = ApiKeyAuthentication.Hash(key), Now = time.GetUtcNow().UtcDateTime });
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return TypedResults.Conflict(new ProblemDetails { Status = 409, Title = "A user with this email already exists." });
        }
        return TypedResults.Created($"/v1/users/me", user);
    }

    /// <summary>The user the API key belongs to.</summary>
    public static async Task<Ok<User>> GetMe(System.Security.Claims.ClaimsPrincipal principal, NpgsqlDataSource db)
    {
        await using var connection = await db.OpenConnectionAsync();
        var user = await connection.QuerySingleAsync<User>(
            "SELECT id, name, email, created_at AS createdat FROM users WHERE id = @Id", new { Id = principal.UserId() });
        return TypedResults.Ok(user);
    }
}
