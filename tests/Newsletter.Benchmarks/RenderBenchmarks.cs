using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Newsletter;
using Newsletter.Delivery;
using Newsletter.Issues;
using Newsletter.Model;
using Newsletter.Rendering;

/// <summary>
/// Micro-benchmarks of one digest for one reader (run with `micro DIR` after `seed DIR ...`):
/// the delivery path (splice of the once-rendered issue + MIME), a full template render, and MIME alone.
/// </summary>
[MemoryDiagnoser]
public class RenderBenchmarks
{
    private DigestRenderer _renderer = null!;
    private DigestMessageBuilder _builder = null!;
    private Issue _issue = null!;
    private EncodedDigest _encoded = null!;
    private int _reader;

    /// <summary>Set by Program before the run: the seeded benchmark folder.</summary>
    public static string Directory { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var app = NewsletterApp.Build(["micro"], Directory, b => b.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Newsletter:Database:ConnectionString"] = $"Data Source={Path.Combine(Directory, "bench.db")}",
            ["Newsletter:TemplatesPath"] = Path.Combine(AppContext.BaseDirectory, "templates"),
            ["Newsletter:Secret"] = "benchmark-secret-0123456789",
            ["Logging:LogLevel:Default"] = "Warning",
        }));
        app.Services.GetRequiredService<Newsletter.Orchestration.StartupTasks>().RunAsync(CancellationToken.None).GetAwaiter().GetResult();
        var issues = app.Services.GetRequiredService<IssueStore>();
        _issue = issues.GetAsync(issues.LatestIssueIdAsync(CancellationToken.None).GetAwaiter().GetResult()!.Value, CancellationToken.None).GetAwaiter().GetResult();
        _renderer = app.Services.GetRequiredService<DigestRenderer>();
        _builder = app.Services.GetRequiredService<DigestMessageBuilder>();
        _encoded = _renderer.RenderEncoded(_issue, Reader(0));
    }

    private static DigestRecipient Reader(int i) =>
        new($"reader{i}@example.org", $"https://papers.example.org/unsubscribe?token=MS4{i}.c2ln", $"https://papers.example.org/preferences?token=Mi4{i}.c2ln");

    [Benchmark(Baseline = true, Description = "full template render (per reader, no splicing)")]
    public RenderedDigest FullRender() => _renderer.RenderFully(_issue, Reader(++_reader));

    [Benchmark(Description = "delivery path: splice + MIME + encode")]
    public long SpliceAndMime()
    {
        var reader = Reader(++_reader);
        var message = _builder.Build(_renderer.RenderEncoded(_issue, reader), reader.Email, "<b@example.org>", reader.UnsubscribeUrl, DateTimeOffset.UnixEpoch);
        message.Prepare(MimeKit.EncodingConstraint.EightBit);
        using var counter = new MimeKit.IO.MeasuringStream();
        message.WriteTo(counter);
        return counter.Length;
    }

    [Benchmark(Description = "MIME + encode of a pre-rendered digest")]
    public long MimeOnly()
    {
        var message = _builder.Build(_encoded, "reader@example.org", "<b@example.org>", "https://papers.example.org/u", DateTimeOffset.UnixEpoch);
        message.Prepare(MimeKit.EncodingConstraint.EightBit);
        using var counter = new MimeKit.IO.MeasuringStream();
        message.WriteTo(counter);
        return counter.Length;
    }
}
