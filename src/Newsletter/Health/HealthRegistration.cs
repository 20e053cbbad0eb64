using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Newsletter.Delivery;
using Newsletter.Orchestration;
using Newsletter.Rendering;
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
            .AddCheck<TemplatesHealthCheck>("templates")
            .AddCheck<SourceHealthCheck>("sources")
            .AddCheck<LastSendHealthCheck>("lastSend")
            .AddCheck<RelaysHealthCheck>("relays")
            .AddCheck<SendHoldHealthCheck>("sending");
        builder.Services.AddSingleton<Delivery.LastSendQuery>();
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
                IReadOnlyList<RelayOutage> relayOutages = [];
                try { relayOutages = await context.RequestServices.GetRequiredService<RelayOutages>().ListAsync(context.RequestAborted); }
                catch (System.Data.Common.DbException) { } // the database check already says why
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(JsonSerializer.Serialize(new
                {
                    status = report.Status.ToString(),
                    provider = database.Provider.ToString(),
                    self,
                    instances = database.IsPostgres
                        ? nodes.Select(n => new { id = n.InstanceId, lastCheckin = n.LastCheckin, alive = n.Alive }).ToArray()
                        : null,
                    // Which checks are unhappy, so a monitor need not read every description.
                    unhappy = report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy).Select(e => e.Key).ToArray(),
                    relays = RelaysHealthCheck.Describe(context.RequestServices.GetRequiredService<IOptions<SmtpOptions>>().Value,
                        context.RequestServices.GetRequiredService<RelayStates>(), relayOutages, context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow()),
                    checks = report.Entries.ToDictionary(e => e.Key, e => new
                    {
                        status = e.Value.Status.ToString(),
                        description = e.Value.Description,
                        data = e.Value.Data.Count > 0 ? e.Value.Data : null,
                    }),
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
        // With the fault attached, the health service's own log line of an outage becomes part of the
        // outage's one report (OutageLogging) instead of an error per poll of a load balancer.
        if (!probe.Healthy)
            return HealthCheckResult.Unhealthy(probe.Description, probe.Unreachable);
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

/// <summary>
/// A broken template edit degrades health: mail still goes out with the last good version. A
/// required template with no usable version at all (deleted, or broken since start-up) is
/// unhealthy: every mail or page it serves fails. Required templates are test-rendered against
/// sample data as <c>templates check</c> does, so a runtime error (every confirmation mail failing
/// while /subscribe answers 202) counts too; the result is cached per template version.
/// </summary>
internal sealed class TemplatesHealthCheck(TemplateStore templates, TemplateChecker checker) : IHealthCheck
{
    private (long Version, HealthCheckResult Result)? _cached;
    private readonly Lock _gate = new();

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            var version = templates.Version;
            if (_cached is { } cached && cached.Version == version)
                return Task.FromResult(cached.Result);
            var result = Evaluate();
            _cached = (version, result);
            return Task.FromResult(result);
        }
    }

    private HealthCheckResult Evaluate()
    {
        var unusable = TemplatesFolderValidator.Required.Where(name => !Usable(name)).ToArray();
        if (unusable.Length > 0)
            return HealthCheckResult.Unhealthy($"required templates with no usable version: {string.Join(", ", unusable.Select(templates.Display))}");
        var problems = templates.Errors.Select(e => e.ToString()).Concat(checker.Check()).Distinct().ToArray();
        return problems.Length == 0
            ? HealthCheckResult.Healthy("all templates valid")
            : HealthCheckResult.Degraded(string.Join("; ", problems));
    }

    private bool Usable(string name)
    {
        try
        {
            templates.Get(name);
            return true;
        }
        catch (TemplateUnavailableException)
        {
            return false;
        }
    }
}
