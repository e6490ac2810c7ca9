using System.Globalization;

namespace Avatar.Redis;

/// <summary>Connection settings, parsed from StackExchange.Redis' connection string format: "host:port,password=...,...".</summary>
public sealed class ConfigurationOptions
{
    /// <summary>Host name or address.</summary>
    public string Host { get; set; } = "127.0.0.1";
    /// <summary>Port.</summary>
    public int Port { get; set; } = 6379;
    /// <summary>Password for AUTH, if any.</summary>
    public string? Password { get; set; }
    /// <summary>User for AUTH (ACL), if any.</summary>
    public string? User { get; set; }
    /// <summary>Database number for SELECT.</summary>
    public int DefaultDatabase { get; set; }
    /// <summary>How long to wait for a connection, in milliseconds.</summary>
    public int ConnectTimeout { get; set; } = 5000;
    /// <summary>How long to wait for a reply, in milliseconds.</summary>
    public int SyncTimeout { get; set; } = 5000;
    /// <summary>Client name (CLIENT SETNAME), shown by CLIENT LIST.</summary>
    public string? ClientName { get; set; }

    /// <summary>Parses a connection string; unknown options are an error (they are usually typos).</summary>
    public static ConfigurationOptions Parse(string configuration)
    {
        var options = new ConfigurationOptions();
        foreach (var part in configuration.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                var colon = part.LastIndexOf(':');
                options.Host = colon < 0 ? part : part[..colon];
                options.Port = colon < 0 ? 6379 : int.Parse(part[(colon + 1)..], CultureInfo.InvariantCulture);
                continue;
            }
            var (key, value) = (part[..equals].Trim().ToLowerInvariant(), part[(equals + 1)..].Trim());
            switch (key)
            {
                case "password": options.Password = value; break;
                case "user": options.User = value; break;
                case "defaultdatabase": options.DefaultDatabase = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "connecttimeout": options.ConnectTimeout = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "synctimeout" or "asynctimeout": options.SyncTimeout = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "name": options.ClientName = value; break;
                case "abortconnect" or "ssl" when value is "false" or "False": break;
                default: throw new ArgumentException($"Unknown Redis connection option '{key}'.", nameof(configuration));
            }
        }
        return options;
    }

    /// <summary>The connection string without the password (safe to log).</summary>
    public override string ToString() => $"{Host}:{Port}";
}
