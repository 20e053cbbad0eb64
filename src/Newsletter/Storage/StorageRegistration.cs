using Newsletter.Configuration;

namespace Newsletter.Storage;

public static class StorageRegistration
{
    public static WebApplicationBuilder AddStorage(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<DatabaseOptions, DatabaseOptionsValidator>(DatabaseOptions.Section);
        builder.Services.AddSingleton<Database>();
        builder.Services.AddSingleton<DatabaseStartup>();
        builder.Services.AddSingleton<StorageOutage>();
        OutageLogging.Install(builder.Services);
        builder.Services.AddSingleton<Migrations>();
        builder.Services.AddSingleton<SettingsStore>();
        builder.Services.AddSingleton<RateLimitStore>();
        builder.Services.AddSingleton<DatabaseXmlRepository>();
        builder.AddDataProtectionKeys();
        // The service on SQLite takes the file for itself (first hosted service: before migrations,
        // Quartz and Kestrel); the verbs never start hosted services and so keep working beside it.
        builder.Services.AddSingleton<SingleServiceGuard>();
        builder.Services.AddHostedService(services => services.GetRequiredService<SingleServiceGuard>());
        return builder;
    }
}
