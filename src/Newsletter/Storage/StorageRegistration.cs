using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;

namespace Newsletter.Storage;

public static class StorageRegistration
{
    public static WebApplicationBuilder AddStorage(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<DatabaseOptions, DatabaseOptionsValidator>(DatabaseOptions.Section);
        builder.Services.AddSingleton<Database>();
        builder.Services.AddSingleton<Migrations>();
        builder.Services.AddSingleton<SettingsStore>();
        builder.Services.AddSingleton<RateLimitStore>();
        builder.Services.AddSingleton<DatabaseXmlRepository>();
        // One application name for every instance: by default Data Protection isolates by the
        // content root, and two machines rarely install to the same folder.
        builder.Services.AddDataProtection().SetApplicationName("Newsletter");
        // On PostgreSQL the Data Protection keys (antiforgery tokens, ...) live in the database, so
        // a form served by one instance posts to another behind a load balancer.
        builder.Services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(services => new ConfigureOptions<KeyManagementOptions>(options =>
        {
            if (services.GetRequiredService<Database>().IsPostgres)
                options.XmlRepository = services.GetRequiredService<DatabaseXmlRepository>();
        }));
        // The service on SQLite takes the file for itself (first hosted service: before migrations,
        // Quartz and Kestrel); the verbs never start hosted services and so keep working beside it.
        builder.Services.AddSingleton<SingleServiceGuard>();
        builder.Services.AddHostedService(services => services.GetRequiredService<SingleServiceGuard>());
        return builder;
    }
}
