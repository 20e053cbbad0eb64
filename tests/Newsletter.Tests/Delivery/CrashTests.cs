using System.Diagnostics;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Delivery;

/// <summary>
/// The service is killed (SIGKILL) in the middle of sending and started again: nobody may be
/// skipped, and only the messages in flight at the kill (at most one per connection) may arrive
/// twice, with the same Message-ID.
/// </summary>
public sealed class CrashTests(ITestOutputHelper output)
{
    private const int Subscribers = 2000;
    private const int Connections = 4;

    [Fact]
    public async Task KilledMidSendAtSeveralPointsEveryoneGetsTheDigestAndDuplicatesAreBounded()
    {
        await using var smtp = new SmtpSink(new SinkFaults { DelayPerMessage = TimeSpan.FromMilliseconds(8) });
        await using var host = new TestHost(new() { ["Newsletter:Delivery:LeaseDuration"] = "00:00:02" });
        host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        host.UseSmtp(smtp.Port, Connections);
        var csv = Path.Combine(host.Directory, "list.csv");
        await File.WriteAllLinesAsync(csv, ["email", .. Enumerable.Range(1, Subscribers).Select(i => $"reader{i}@example.org")]);
        await host.RunAsync("subscribers", "import", csv, "--confirmed");
        await host.RunAsync("collect");

        int[] killPoints = [250, 900, 1500];
        foreach (var killAt in killPoints)
        {
            using var child = StartSendNow(host);
            while (smtp.Messages.Count < killAt && !child.HasExited)
                await Task.Delay(5);
            Assert.False(child.HasExited, $"send-now finished before {killAt} messages: {await child.StandardError.ReadToEndAsync()}");
            child.Kill(entireProcessTree: true); // SIGKILL: no cleanup of any kind
            await child.WaitForExitAsync();
        }
        // Restarted until done; leases of the killed runs run out after 2 s.
        for (var run = 0; run < 20 && (run == 0 || await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status <> 'sent'") > 0); run++)
        {
            using var child = StartSendNow(host);
            await child.WaitForExitAsync();
            Assert.Equal(0, child.ExitCode);
            await Task.Delay(500);
        }

        Assert.Equal(Subscribers, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'"));
        var byRecipient = smtp.Messages.GroupBy(m => m.To.Mailboxes.Single().Address).ToList();
        Assert.Equal(Subscribers, byRecipient.Count);
        var duplicates = byRecipient.Where(g => g.Count() > 1).ToList();
        output.WriteLine($"{Subscribers} subscribers, killed at {string.Join("/", killPoints)} received messages: {duplicates.Sum(g => g.Count() - 1)} duplicates, {smtp.Messages.Count} messages in all");
        Assert.True(duplicates.Sum(g => g.Count() - 1) <= killPoints.Length * Connections,
            $"{duplicates.Sum(g => g.Count() - 1)} duplicates after {killPoints.Length} kills with {Connections} connections: "
            + string.Join(",", duplicates.Select(g => g.Key.Replace("@example.org", "").Replace("reader", "") + "x" + g.Count())));
        Assert.All(duplicates, copies => Assert.Single(copies.Select(m => m.MessageId).Distinct()));
    }

    /// <summary>The real executable in a child process, configured through environment variables as an operator would.</summary>
    private static Process StartSendNow(TestHost host)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = host.Directory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Newsletter.dll"));
        start.ArgumentList.Add("send-now");
        start.ArgumentList.Add("--date");
        start.ArgumentList.Add("2025-09-08");
        foreach (var (key, value) in host.Settings)
            start.Environment[key.Replace(":", "__")] = value;
        var process = Process.Start(start)!;
        // Drain the pipes so the child never blocks on a full one.
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        return process;
    }
}
