using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Newsletter.Rendering;
using Newsletter.Scheduling;
using Newsletter.Storage;

namespace Newsletter.Health;

public static class HealthRegistration
{
    public static WebApplicationBuilder AddHealth(this WebApplicationBuilder builder)
    {
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

internal sealed class DatabaseHealthCheck(Database database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            var version = await connection.ExecuteScalarAsync<long>("SELECT MAX(version) FROM schema_version");
            return HealthCheckResult.Healthy($"{database.Provider}, schema version {version}");
        }
        catch (Exception exception)
        {
            return HealthCheckResult.Unhealthy($"database unavailable: {exception.Message}");
        }
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
