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
