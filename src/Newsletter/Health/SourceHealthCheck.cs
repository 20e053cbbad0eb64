using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Newsletter.Sources;

namespace Newsletter.Health;

/// <summary>
/// Each source's freshness from its run history: degraded when a source has failed
/// <c>SourceUnhealthyAfter</c> collects in a row, unhealthy when every source has. A source never
/// collected yet (a fresh install) counts as neither.
/// </summary>
internal sealed class SourceHealthCheck(SourceHealthStore history, IOptions<SourcesOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var limit = options.Value.SourceUnhealthyAfter;
        var sources = await history.ListAsync(options.Value.Sources.Select(s => s.Name), recentRuns: 1, cancellationToken);
        var data = sources.ToDictionary(s => s.Name, s => (object)new Dictionary<string, object?>
        {
            ["lastSuccess"] = s.LastSuccessAt,
            ["lastError"] = s.LastError,
            ["lastErrorAt"] = s.LastErrorAt,
            ["failedRunsInARow"] = s.ConsecutiveFailures,
            ["papersLastRun"] = s.RecentRuns.FirstOrDefault()?.Papers,
        });
        var failing = sources.Where(s => s.ConsecutiveFailures >= limit).ToList();
        var described = string.Join("; ", failing.Select(Describe));
        if (failing.Count > 0 && failing.Count == sources.Count)
            return HealthCheckResult.Unhealthy($"every source has failed {limit} or more collects in a row: {described}", data: data);
        if (failing.Count > 0)
            return HealthCheckResult.Degraded($"{failing.Count} of {sources.Count} sources failed {limit} or more collects in a row: {described}", data: data);
        return HealthCheckResult.Healthy(string.Join("; ", sources.Select(Fresh)), data);
    }

    private static string Describe(SourceHealth source) =>
        $"{source.Name} ({source.ConsecutiveFailures} failed, last success {At(source.LastSuccessAt)}): {source.LastError}";

    private static string Fresh(SourceHealth source) => source.NeverRun
        ? $"{source.Name}: not collected yet"
        : $"{source.Name}: last success {At(source.LastSuccessAt)}" + (source.ConsecutiveFailures > 0 ? $", {source.ConsecutiveFailures} failed since" : "");

    private static string At(DateTimeOffset? at) => at is { } value ? value.ToString("u", System.Globalization.CultureInfo.InvariantCulture) : "never";
}
