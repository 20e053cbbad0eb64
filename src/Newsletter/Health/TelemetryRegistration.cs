using Newsletter.Telemetry;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Newsletter.Health;

/// <summary>
/// OpenTelemetry for the service: its own meter and activity source (<see cref="NewsletterTelemetry"/>), the
/// ASP.NET Core, HTTP client and Npgsql instrumentation; exported by OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
/// is set (the standard <c>OTEL_*</c> variables configure it), and served at <c>GET /metrics</c> in the
/// Prometheus text format when <c>Metrics:Prometheus</c> is true (otherwise that path is 404).
/// </summary>
public static class TelemetryRegistration
{
    public const string MetricsPath = "/metrics";

    /// <summary>After the last configuration source is added: whether to export is read from the final configuration.</summary>
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        var prometheus = Prometheus(builder.Configuration);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("newsletter"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(NewsletterTelemetry.Name)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddNpgsqlInstrumentation();
                if (prometheus)
                    metrics.AddPrometheusExporter();
            })
            .WithTracing(tracing => tracing
                .AddSource(NewsletterTelemetry.Name)
                .AddAspNetCoreInstrumentation(options => options.Filter = http => http.Request.Path != MetricsPath)
                .AddHttpClientInstrumentation()
                .AddNpgsql());
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
            telemetry.UseOtlpExporter();
        return builder;
    }

    public static WebApplication MapMetrics(this WebApplication app)
    {
        if (Prometheus(app.Configuration))
            app.MapPrometheusScrapingEndpoint(MetricsPath);
        return app;
    }

    private static bool Prometheus(IConfiguration configuration) =>
        bool.TryParse(configuration["Newsletter:Metrics:Prometheus"], out var on) && on;
}
