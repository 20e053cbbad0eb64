using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Newsletter.Delivery;
using Newsletter.Rendering;
using Newsletter.Scheduling;
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
        });
        return app;
    }
}
