namespace Avatar.Api.Data;

/// <summary>The Api's PostgreSQL database.</summary>
public static class Database
{
    /// <summary>The connection string name the AppHost provides (ConnectionStrings__avatardb).</summary>
    public const string ConnectionName = "avatardb";
}
