using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Newsletter.Rendering;
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

    /// <summary><c>GET /health</c>: 200 when healthy or degraded, 503 when unhealthy, with a JSON body per check.</summary>
    public static WebApplication MapHealth(this WebApplication app)
    {
        app.MapHealthChecks("/health", new HealthCheckOptions
        {
            ResponseWriter = (context, report) =>
            {
                context.Response.ContentType = "application/json";
                return context.Response.WriteAsync(JsonSerializer.Serialize(new
                {
                    status = report.Status.ToString(),
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
            return HealthCheckResult.Healthy($"schema version {version}");
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
