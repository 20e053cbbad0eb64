using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Newsletter.Storage;

/// <summary>
/// Where ASP.NET Core keeps its Data Protection keys (they sign the antiforgery tokens of the web
/// forms): a folder beside the SQLite file (<c>data/newsletter-keys/</c> for
/// <c>data/newsletter.db</c>), so forms keep working across restarts and deployments, backups of
/// the data folder carry them, and every instance on one database shares them. The one place
/// this is wired. On PostgreSQL the keys live in the database instead (<see cref="DatabaseXmlRepository"/>),
/// so a form served by one instance posts to another behind a load balancer.
/// </summary>
public static class DataProtectionKeys
{
    public static WebApplicationBuilder AddDataProtectionKeys(this WebApplicationBuilder builder)
    {
        // One application name, so the keys do not depend on the folder the binary runs from.
        builder.Services.AddDataProtection().SetApplicationName("Newsletter");
        builder.Services.AddOptions<KeyManagementOptions>().Configure<Database, DatabaseXmlRepository, ILoggerFactory>((options, database, shared, logs) =>
        {
            if (database.IsPostgres)
                options.XmlRepository = shared;
            else if (KeyFolder(database) is { } folder)
                options.XmlRepository = new FileSystemXmlRepository(CreatePrivate(folder), logs);
        });
        // The keys sit unencrypted beside the database, which holds the link secret unencrypted
        // too: protect the data folder, not each file. Without this every first start warns.
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager", LogLevel.Error);
        return builder;
    }

    private static DirectoryInfo CreatePrivate(string folder) => OperatingSystem.IsWindows()
        ? Directory.CreateDirectory(folder)
        : Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

    /// <summary>The folder beside the database file; none for an in-memory database (keys then live in memory) or PostgreSQL.</summary>
    public static string? KeyFolder(Database database) =>
        !database.IsPostgres && Path.IsPathRooted(database.DataSource) ? Path.ChangeExtension(database.DataSource, null) + "-keys" : null;
}
