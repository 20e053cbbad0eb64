using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Newsletter.Telemetry;

/// <summary>
/// The service's own instruments (meter and activity source <c>Newsletter</c>), at the bottom of the house so
/// that every feature records with one line and imports nothing above it. Nothing is exported unless the
/// host's OpenTelemetry providers listen (OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and
/// <c>GET /metrics</c> when <c>Metrics:Prometheus</c> is on); unheard, a measurement costs a branch.
/// </summary>
public static class NewsletterTelemetry
{
    public const string Name = "Newsletter";

    public static readonly ActivitySource Activities = new(Name);

    public static readonly Meter Meter = new(Name);

    /// <summary>Papers a source listed in one collect (tag <c>source</c>).</summary>
    public static readonly Counter<long> PapersCollected =
        Meter.CreateCounter<long>("newsletter.papers.collected", "{paper}", "Papers listed by a source, per collect");

    /// <summary>Papers a collect stored for the first time (tag <c>source</c>).</summary>
    public static readonly Counter<long> PapersNew =
        Meter.CreateCounter<long>("newsletter.papers.new", "{paper}", "Papers stored for the first time");

    /// <summary>Collects of a source that failed (tag <c>source</c>).</summary>
    public static readonly Counter<long> SourceFailures =
        Meter.CreateCounter<long>("newsletter.source.failures", "{run}", "Collects of a source that failed");

    /// <summary>
    /// Ledger outcomes as they are written (tag <c>outcome</c>: sent, deferred, bounced, expired, skipped):
    /// counted where the ledger row is written, so the counts equal the ledger's.
    /// </summary>
    public static readonly Counter<long> Digests =
        Meter.CreateCounter<long>("newsletter.digests", "{digest}", "Digest deliveries by outcome, as written to the ledger");

    public static readonly Histogram<double> SmtpSendTime =
        Meter.CreateHistogram<double>("newsletter.smtp.send.duration", "s", "Time to hand one message to the relay");

    public static readonly Histogram<double> RenderTime =
        Meter.CreateHistogram<double>("newsletter.render.duration", "s", "Time to render one reader's digest");

    /// <summary>Deliveries in the ledger still waiting to be sent (pending), as of the last dispatch.</summary>
    public static readonly Gauge<long> LedgerBacklog =
        Meter.CreateGauge<long>("newsletter.ledger.backlog", "{delivery}", "Deliveries waiting in the ledger, as of the last dispatch");

    /// <summary>Readers a compose found due (got a digest or were skipped with a reason), per compose.</summary>
    public static readonly Gauge<long> ReadersDue =
        Meter.CreateGauge<long>("newsletter.readers.due", "{reader}", "Readers due at the last compose");

    /// <summary>The ledger's word for an outcome, as the <c>outcome</c> tag says it ("pending" is a deferral).</summary>
    public static void RecordDelivery(string status) =>
        Digests.Add(1, new KeyValuePair<string, object?>("outcome", status == "pending" ? "deferred" : status));

    /// <summary>Several rows written at once (expired before they were claimed); returns <paramref name="count"/>.</summary>
    public static int RecordDeliveries(string status, int count)
    {
        if (count > 0)
            Digests.Add(count, new KeyValuePair<string, object?>("outcome", status == "pending" ? "deferred" : status));
        return count;
    }

    /// <summary>Seconds since <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public static double Seconds(long started) => Stopwatch.GetElapsedTime(started).TotalSeconds;
}
