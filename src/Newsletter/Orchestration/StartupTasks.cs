using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Storage;
using Newsletter.Subscriptions;

namespace Newsletter.Orchestration;

/// <summary>
/// What must happen before anything touches the database: migrations, then the link-signing key
/// (generated once and kept in the database, so every instance and every copy signs alike).
/// </summary>
public sealed class StartupTasks(Migrations migrations, Database database, SettingsStore settings, SigningKeys keys, IOptions<NewsletterOptions> options) : IHostedService
{
    public const string SecretKey = "link_secret";

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
