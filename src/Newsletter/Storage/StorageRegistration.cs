using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Subscriptions;

namespace Newsletter.Storage;

public static class StorageRegistration
{
    public static WebApplicationBuilder AddStorage(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<DatabaseOptions, DatabaseOptionsValidator>(DatabaseOptions.Section);
        builder.Services.AddSingleton<Database>();
        builder.Services.AddSingleton<Migrations>();
        builder.Services.AddSingleton<SettingsStore>();
        builder.Services.AddSingleton<StartupTasks>();
        // Runs before the other hosted services (Quartz, Kestrel) so they find a ready database.
        builder.Services.AddHostedService(services => services.GetRequiredService<StartupTasks>());
        builder.AddDataProtectionKeys();
        return builder;
    }
}

/// <summary>What must happen before anything touches the database: migrations and the link-signing key.</summary>
public sealed class StartupTasks(Migrations migrations, Database database, SettingsStore settings, SigningKeys keys, IOptions<NewsletterOptions> options) : IHostedService
{
    private const string SecretKey = "link_secret";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await migrations.ApplyAsync(cancellationToken);
        database.Identity = await settings.GetOrAddAsync("database_id", () => Guid.NewGuid().ToString("N"), cancellationToken);
        var secret = options.Value.Secret
            ?? await settings.GetOrAddAsync(SecretKey, () => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), cancellationToken);
        keys.Load(secret, options.Value.PreviousSecrets);
    }

    Task IHostedService.StartAsync(CancellationToken cancellationToken) => RunAsync(cancellationToken);

    Task IHostedService.StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
