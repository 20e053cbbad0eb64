using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Newsletter.Rendering;
using Newsletter.Scheduling;
using Newsletter.Storage;

namespace Newsletter.Health;

public static class HealthRegistration
{
    public static WebApplicationBuilder AddHealth(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IntegrityMonitor>();
        builder.Services.AddHostedService(services => services.GetRequiredService<IntegrityMonitor>());
        builder.Services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database")
            .AddCheck<TemplatesHealthCheck>("templates");
        return builder;
    }

    /// <summary>
    /// <c>GET /health</c>: 200 when healthy or degraded, 503 when unhealthy, with a JSON body per
    /// check, the database provider and, on PostgreSQL, the instances sharing it (from Quartz's
    /// scheduler state table: alive while they keep checking in).
    /// </summary>
    public static WebApplication MapHealth(this WebApplication app)
    {
        app.MapHealthChecks("/health", new HealthCheckOptions
        {
            ResponseWriter = async (context, report) =>
            {
                var database = context.RequestServices.GetRequiredService<Database>();
                IReadOnlyList<ClusterNode> nodes = [];
                string? self = null;
                if (database.IsPostgres)
                {
                    self = (await context.RequestServices.GetRequiredService<Quartz.ISchedulerFactory>().GetScheduler(context.RequestAborted)).SchedulerInstanceId;
                    try { nodes = await context.RequestServices.GetRequiredService<ClusterNodes>().ListAsync(context.RequestAborted); }
                    catch (System.Data.Common.DbException) { } // the database check already says why
                }
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(JsonSerializer.Serialize(new
                {
                    status = report.Status.ToString(),
                    provider = database.Provider.ToString(),
                    self,
                    instances = database.IsPostgres
                        ? nodes.Select(n => new { id = n.InstanceId, lastCheckin = n.LastCheckin, alive = n.Alive }).ToArray()
                        : null,
                    checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
                }));
            },
        });
        return app;
    }
}

/// <summary>
/// Unhealthy when the database file is gone, replaced, not writable, or failed its last integrity
/// check: a load balancer or monitor then sees what /subscribe would otherwise hide behind 500s.
/// </summary>
internal sealed class DatabaseHealthCheck(Database database, IntegrityMonitor integrity, TimeProvider time) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var probe = await database.ProbeAsync(time, cancellationToken);
        if (!probe.Healthy)
            return HealthCheckResult.Unhealthy(probe.Description);
        if (integrity.Problem is { } problem)
            return HealthCheckResult.Unhealthy(problem);
        return HealthCheckResult.Healthy($"{database.Provider}, " + probe.Description + (integrity.LastChecked is { } at ? $", integrity checked {at:u}" : ""));
    }
}

/// <summary>Runs the database's integrity check at start-up and every <c>Database:IntegrityCheckInterval</c>.</summary>
internal sealed class IntegrityMonitor(Database database, IOptions<DatabaseOptions> options, TimeProvider time, ILogger<IntegrityMonitor> logger) : BackgroundService
{
    public string? Problem { get; private set; }

    public DateTimeOffset? LastChecked { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.IntegrityCheckInterval;
        if (interval <= TimeSpan.Zero)
            return;
        try
        {
            do
            {
                Problem = await database.IntegrityProblemAsync(stoppingToken);
                LastChecked = time.GetUtcNow();
                if (Problem is not null)
                    logger.LogError("Database integrity check failed: {Problem}", Problem);
            }
            while (await Delay(interval, stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    private async Task<bool> Delay(TimeSpan interval, CancellationToken cancellationToken)
    {
        await Task.Delay(interval, time, cancellationToken);
        return true;
    }
}

/// <summary>A broken template edit degrades health: mail still goes out with the last good version.</summary>
internal sealed class TemplatesHealthCheck(TemplateStore templates) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var errors = templates.Errors;
        var missing = DigestRenderer.Required.Where(name => !templates.Exists(name)).ToArray();
        if (missing.Length > 0)
            return Task.FromResult(HealthCheckResult.Unhealthy($"missing templates: {string.Join(", ", missing)}"));
        return Task.FromResult(errors.Count == 0
            ? HealthCheckResult.Healthy("all templates valid")
            : HealthCheckResult.Degraded(string.Join("; ", errors)));
    }
}
