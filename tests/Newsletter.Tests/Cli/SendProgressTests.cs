using Microsoft.Extensions.Time.Testing;
using Newsletter.Cli;
using Newsletter.Delivery;

namespace Newsletter.Tests.Cli;

public sealed class SendProgressTests
{
    [Fact]
    public void ProgressSaysHowManyOfHowManyHowFastAndHowLongStill()
    {
        var time = new FakeTimeProvider();
        var progress = new SendProgress(TextWriter.Null, time, 10_000);

        time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal("1000/10000 (10%), 500 msg/s, ETA 0:00:18", progress.Describe(1000, 10_000));
    }

    [Fact]
    public void WithoutATerminalProgressIsAPlainLineEveryFewSeconds()
    {
        var time = new FakeTimeProvider();
        var output = new StringWriter();
        var progress = new SendProgress(output, time, 300);

        progress.ReportPlain(new DispatchSummary(10, 0, 0, 0, 0, null));
        time.Advance(TimeSpan.FromSeconds(6));
        progress.ReportPlain(new DispatchSummary(120, 0, 0, 0, 0, null));
        progress.ReportPlain(new DispatchSummary(121, 0, 0, 0, 0, null));

        var line = Assert.Single(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("  120/300 (40%), 20 msg/s, ETA 0:00:09 (sent 120, deferred 0, bounced 0, expired 0, skipped 0)", line.TrimEnd('\r'));
        Assert.False(SendProgress.IsTerminal(output));
    }
}
