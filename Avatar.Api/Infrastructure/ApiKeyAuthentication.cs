using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Avatar.Api.Infrastructure;

/// <summary>
/// Authenticates requests by the <c>X-Api-Key</c> header. Keys are 256 random bits shown once at sign-up; only their
/// SHA-256 is stored. A fast hash is right here (unlike for passwords): a random 256-bit key cannot be guessed, so
/// slowing each guess buys nothing, while every request pays for the hash. The key is found by its hash in PostgreSQL's
/// index rather than compared here, and needs no constant-time comparison (CryptographicOperations.FixedTimeEquals): the
/// lookup's timing can only leak how much of a guessed hash matches a stored one, and turning that into a key means
/// finding SHA-256 preimages.
/// </summary>
public sealed class ApiKeyAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    NpgsqlDataSource dataSource, IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme name.</summary>
    public const string SchemeName = "ApiKey";

    /// <summary>The request header that carries the key.</summary>
    public const string Header = "X-Api-Key";

    /// <summary>A new key: a recognisable prefix and 256 random bits, URL-safe.</summary>
    public static string NewKey() => "avk_" + Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary>What is stored for a key.</summary>
    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <inheritdoc />
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(Header, out var values) || values.ToString() is not { Length: > 0 and < 200 } key)
        {
            return AuthenticateResult.NoResult();
        }
        await using var command = dataSource.CreateCommand("SELECT id FROM users WHERE api_key_hash = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = Hash(key) });
        if (await command.ExecuteScalarAsync(Context.RequestAborted) is not Guid userId)
        {
            return AuthenticateResult.Fail("Unknown API key.");
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, userId.ToString())], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    /// <inheritdoc />
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Unauthorized",
                Detail = $"Send a valid API key in the {Header} header (POST /v1/users creates one).",
            },
        });
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>The signed-in user.</summary>
public static class UserExtensions
{
    /// <summary>The authenticated user's id.</summary>
    public static Guid UserId(this ClaimsPrincipal user) => Guid.Parse(user.FindFirstValue(ClaimTypes.NameIdentifier)!);
}
