using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Newsletter.Configuration;
using Newsletter.Delivery;
using Newsletter.Rendering;
using Newsletter.Sources;
using Newsletter.Storage;

namespace Newsletter.Health;

/// <summary>One log line at start-up that says what the service is doing and where.</summary>
internal static class StartupReport
{
    public static WebApplication LogStartupReport(this WebApplication app)
    {
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var services = app.Services;
            var addresses = services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var schedule = services.GetRequiredService<IOptions<ScheduleOptions>>().Value;
            app.Logger.LogInformation(
                "Newsletter running: web front on {Urls}; database {Database}; templates {Templates}; delivery through {Transport}; {Sources} sources collected on '{Collect}', digest on '{Digest}' ({Zone})",
                string.Join(", ", addresses),
                services.GetRequiredService<Database>().DataSource,
                services.GetRequiredService<TemplateStore>().Root,
                services.GetRequiredService<TransportFactory>().Create().Describe(),
                services.GetRequiredService<IOptions<SourcesOptions>>().Value.Sources.Count,
                schedule.Collect, schedule.Digest, schedule.TimeZone);
            var publicBaseUrl = services.GetRequiredService<IOptions<Configuration.NewsletterOptions>>().Value.PublicBaseUrl;
            if (PublicBaseUrlMismatch(publicBaseUrl, addresses) is { } warning)
                app.Logger.LogWarning("{Warning}", warning);
        });
        return app;
    }

    /// <summary>
    /// Links in mail are built from PublicBaseUrl. When it names this machine (localhost, a
    /// loopback address) but no address the server listens on, every link leads nowhere. A public
    /// host name is left alone: a reverse proxy may well forward it to any of our addresses.
    /// </summary>
    internal static string? PublicBaseUrlMismatch(string publicBaseUrl, IEnumerable<string> listening)
    {
        if (!Uri.TryCreate(publicBaseUrl, UriKind.Absolute, out var link) || !IsThisMachine(link.Host))
            return null;
        var addresses = listening.Select(a => Uri.TryCreate(a.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal), UriKind.Absolute, out var u) ? u : null)
            .OfType<Uri>().ToArray();
        if (addresses.Length == 0 || addresses.Any(a => a.Scheme == link.Scheme && a.Port == link.Port && (IsThisMachine(a.Host) || a.Host is "0.0.0.0" or "[::]")))
            return null;
        return $"Newsletter:PublicBaseUrl is {publicBaseUrl}, but the web front listens on {string.Join(", ", addresses.Select(a => a.GetLeftPart(UriPartial.Authority)))}: "
               + "links in mail (confirm, unsubscribe, preferences) will not reach it. Set Newsletter:PublicBaseUrl to the address readers use.";
    }

    private static bool IsThisMachine(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || System.Net.IPAddress.TryParse(host.Trim('[', ']'), out var ip) && System.Net.IPAddress.IsLoopback(ip);
}
