using System.Globalization;
using Newsletter.Delivery;
using Spectre.Console;

namespace Newsletter.Cli;

/// <summary>
/// <c>send-now</c> progress as <c>n/N, msg/s, ETA</c>: a live bar on a terminal (Spectre.Console),
/// and plain lines every few seconds when the output is a file or a pipe (logs, cron mail).
/// </summary>
internal sealed class SendProgress(TextWriter output, TimeProvider time, long total)
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);

    private readonly long _started = time.GetTimestamp();
    private long _lastPlain = time.GetTimestamp();

    /// <summary>Spectre draws only on the real console, and only when a person is looking at it.</summary>
    public static bool IsTerminal(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    public async Task<DispatchSummary> RunAsync(Func<Action<DispatchSummary>, Task<DispatchSummary>> dispatch)
    {
        if (!IsTerminal(output))
            return await dispatch(ReportPlain);
        return await AnsiConsole.Progress()
            .AutoClear(false)
            // The description already carries the percentage; the bar takes what the line leaves
            // of the terminal's width, so an 80-column terminal gets one line, not a wrapped one.
            .Columns(new ProgressBarColumn { Width = BarWidth() }, new TaskDescriptionColumn { Alignment = Justify.Left })
            .StartAsync(async context =>
            {
                var task = context.AddTask(Describe(0, total), maxValue: Math.Max(total, 1));
                var summary = await dispatch(progress =>
                {
                    var done = progress.Total;
                    task.MaxValue = Math.Max(Math.Max(total, done), 1);
                    task.Value = done;
                    task.Description = Markup.Escape(Line(progress, (long)task.MaxValue));
                });
                task.MaxValue = Math.Max(summary.Total, 1);
                task.Value = task.MaxValue;
                task.Description = Markup.Escape(Line(summary, summary.Total));
                return summary;
            });
    }

    /// <summary>A description is about 60-75 characters; the bar gets the rest, 5 to 40 columns.</summary>
    private static int BarWidth() => Math.Clamp(AnsiConsole.Profile.Width - 77, 5, 40);

    internal void ReportPlain(DispatchSummary progress)
    {
        if (time.GetElapsedTime(_lastPlain) < PlainInterval)
            return;
        _lastPlain = time.GetTimestamp();
        output.WriteLine($"  {Describe(progress.Total, Math.Max(total, progress.Total))} ({progress})");
    }

    /// <summary>One terminal line: counts that are zero are left out so it fits beside the bar.</summary>
    private string Line(DispatchSummary progress, long of)
    {
        var failed = progress.Bounced + progress.Expired;
        return $"{Describe(progress.Total, of)}; {progress.Sent} sent"
            + (progress.Deferred > 0 ? $", {progress.Deferred} deferred" : "")
            + (failed > 0 ? $", {failed} failed" : "");
    }

    /// <summary>"934/10000 (9%), 512 msg/s, ETA 0:00:17".</summary>
    internal string Describe(long done, long of)
    {
        var seconds = Math.Max(time.GetElapsedTime(_started).TotalSeconds, 0.001);
        var rate = done / seconds;
        var eta = rate > 0 && of > done ? TimeSpan.FromSeconds(Math.Ceiling((of - done) / rate)) : TimeSpan.Zero;
        var percent = of == 0 ? 100 : 100 * done / of;
        return string.Create(CultureInfo.InvariantCulture, $"{done}/{of} ({percent}%), {rate:0} msg/s, ETA {eta:h\\:mm\\:ss}");
    }
}
