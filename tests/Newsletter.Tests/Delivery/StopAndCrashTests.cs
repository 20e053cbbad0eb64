using System.Diagnostics;
using Newsletter.Issues;
using Newsletter.Orchestration;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Delivery;

/// <summary>
/// Finding 3 of the hardening review, against the real executable: SIGTERM to <c>run</c> kept
/// sending for 30 s and left rows "sending"; SIGTERM/SIGINT to <c>send-now</c> died without
/// releasing its claims; after kill -9 a new run waited out the 10-minute lease.
/// </summary>
public sealed class StopAndCrashTests(ITestOutputHelper output)
{
    private const int Readers = 300;
    private const int Connections = 4;
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(5);

    private static async Task<TestHost> PrepareAsync(SmtpSink smtp)
    {
        // The default 10-minute lease: nothing here may wait for it.
        var host = new TestHost(new() { ["Newsletter:Delivery:ShutdownTimeout"] = ShutdownTimeout.ToString() });
        host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        host.UseSmtp(smtp.Port, Connections);
        var csv = Path.Combine(host.Directory, "list.csv");
        await File.WriteAllLinesAsync(csv, ["email", .. Enumerable.Range(1, Readers).Select(i => $"reader{i}@example.org")]);
        await host.RunAsync("subscribers", "import", csv, "--confirmed");
        await host.RunAsync("collect"); // after the readers joined: a reader gets what is collected after that
        return host;
    }

    private static async Task WaitForMessagesAsync(SmtpSink smtp, ServiceProcess child, int count)
    {
        var clock = Stopwatch.StartNew();
        while (smtp.Messages.Count < count && !child.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(5);
        Assert.False(child.HasExited, $"finished before {count} messages: {child}");
    }

    /// <summary>Everybody exactly once, with nothing left claimed.</summary>
    private async Task AssertEverybodyServedOnceAsync(TestHost host, SmtpSink smtp)
    {
        Assert.Equal((long)Readers, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'"));
        var byRecipient = smtp.Messages.GroupBy(m => m.To.Mailboxes.Single().Address).ToList();
        Assert.Equal(Readers, byRecipient.Count);
        var duplicates = byRecipient.Sum(g => g.Count() - 1);
        output.WriteLine($"{smtp.Messages.Count} messages for {Readers} readers: {duplicates} duplicates");
        Assert.Equal(0, duplicates);
    }

    /// <summary>
    /// After a stop: no claim left behind, the ledger agrees with what the server got, and a plain
    /// rerun sends the rest, so everybody is served exactly once across the two runs.
    /// </summary>
    private async Task AssertNothingLeftSendingAndARerunServesEverybodyOnceAsync(TestHost host, SmtpSink smtp)
    {
        Assert.Equal(0L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'sending'"));
        Assert.Equal((long)smtp.Messages.Count, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'"));

        var rerun = await host.RunAsync("send-now", "--date", "2025-09-08");
        Assert.Equal(0, rerun.Exit);
        await AssertEverybodyServedOnceAsync(host, smtp);
    }

    [Theory]
    [InlineData(ServiceProcess.SigTerm)]
    [InlineData(ServiceProcess.SigInt)]
    public async Task ASignalToSendNowFinishesInFlightMessagesReleasesTheRestAndExitsInTime(int signal)
    {
        await using var smtp = new SmtpSink(new SinkFaults { DelayPerMessage = TimeSpan.FromMilliseconds(40) });
        await using var host = await PrepareAsync(smtp);

        using var child = new ServiceProcess(host, "send-now", "--date", "2025-09-08");
        await WaitForMessagesAsync(smtp, child, 40);
        var clock = Stopwatch.StartNew();
        child.Signal(signal);
        var exit = await child.WaitAsync(ShutdownTimeout + TimeSpan.FromSeconds(10));
        clock.Stop();

        output.WriteLine($"signal {signal}: exited {exit} after {clock.ElapsedMilliseconds} ms\n{child}");
        Assert.True(clock.Elapsed < ShutdownTimeout, $"took {clock.Elapsed}");
        Assert.Equal(128 + signal, exit);
        Assert.Matches(@"Stopped by SIG(TERM|INT): \d+ sent in this run, \d+ claimed but unsent returned to the queue; \d+ deliveries left", child.Error);
        await AssertNothingLeftSendingAndARerunServesEverybodyOnceAsync(host, smtp);
    }

    [Fact]
    public async Task SigtermToTheServiceMidSendStopsWithinTheTimeoutAndLeavesNothingSending()
    {
        await using var smtp = new SmtpSink(new SinkFaults { DelayPerMessage = TimeSpan.FromMilliseconds(40) });
        await using var host = await PrepareAsync(smtp);
        await host.Service<DailyDigest>().ComposeAsync(new DateOnly(2025, 9, 8), CancellationToken.None);
        host.Set("Newsletter:Schedule:Collect", "0 0 0 1 1 ? 2099");
        host.Set("Newsletter:Schedule:Digest", "0 0 0 1 1 ? 2099");
        host.Set("Newsletter:Schedule:RetryPoll", "00:00:01");
        host.Set("Logging:LogLevel:Default", "Information");

        // The retry poll finds the composed issue due and sends it.
        using var child = new ServiceProcess(host, "run", "--urls", $"http://127.0.0.1:{SmtpSink.FreePort()}");
        await WaitForMessagesAsync(smtp, child, 40);
        var clock = Stopwatch.StartNew();
        child.Signal(ServiceProcess.SigTerm);
        var exit = await child.WaitAsync(ShutdownTimeout + TimeSpan.FromSeconds(15));
        clock.Stop();

        output.WriteLine($"run: exited {exit} after {clock.ElapsedMilliseconds} ms");
        Assert.True(clock.Elapsed < ShutdownTimeout, $"took {clock.Elapsed}\n{child}");
        Assert.Equal(0, exit);
        Assert.Contains("Delivery run stopped for shutdown", child.Output + child.Error);
        await AssertNothingLeftSendingAndARerunServesEverybodyOnceAsync(host, smtp);
    }

    [Fact]
    public async Task AfterKillNineAnImmediateSendNowTakesOverTheDeadRunsClaimsAndServesEverybody()
    {
        await using var smtp = new SmtpSink(new SinkFaults { DelayPerMessage = TimeSpan.FromMilliseconds(20) });
        await using var host = await PrepareAsync(smtp);

        using (var child = new ServiceProcess(host, "send-now", "--date", "2025-09-08"))
        {
            await WaitForMessagesAsync(smtp, child, 62);
            child.KillHard();
        }
        var held = await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'sending'");
        var clock = Stopwatch.StartNew();
        using var rerun = new ServiceProcess(host, "send-now", "--date", "2025-09-08");
        Assert.Equal(0, await rerun.WaitAsync(TimeSpan.FromSeconds(60)));
        clock.Stop();

        output.WriteLine($"kill -9 left {held} claimed; the next send-now took {clock.ElapsedMilliseconds} ms\n{rerun}");
        Assert.True(held > 0, "the kill left nothing claimed: the test did not test anything");
        Assert.DoesNotContain("held by", rerun.Output);
        Assert.Equal((long)Readers, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'"));
        Assert.Equal(0L, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM run_owners"));
        var byRecipient = smtp.Messages.GroupBy(m => m.To.Mailboxes.Single().Address).ToList();
        Assert.Equal(Readers, byRecipient.Count);
        // Only what was in flight at the kill may arrive twice (at most one per connection), with its Message-ID.
        Assert.InRange(byRecipient.Sum(g => g.Count() - 1), 0, Connections);
        Assert.All(byRecipient, copies => Assert.Single(copies.Select(m => m.MessageId).Distinct()));
    }

    [Theory]
    [InlineData(60, true)]  // another host's run, silent for a minute: dead, taken over at once
    [InlineData(0, false)]  // another host's run that beat just now: alive, left alone
    public async Task AnotherHostsRunIsTakenOverOnlyWhenItsHeartbeatIsStale(int silentSeconds, bool takenOver)
    {
        await using var smtp = new SmtpSink();
        await using var host = await PrepareAsync(smtp);
        await host.Service<DailyDigest>().ComposeAsync(new DateOnly(2025, 9, 8), CancellationToken.None);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await host.ExecuteAsync($"""
            INSERT INTO run_owners (id, host, pid, started_at, heartbeat_at) VALUES ('elsewhere/1/x', 'elsewhere', 1, 0, {now - silentSeconds * 1000});
            UPDATE deliveries SET status = 'sending', lease_owner = 'elsewhere/1/x', attempts = 1, lease_until = {now + 600_000} WHERE id % 3 = 0;
            """);
        var held = await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'sending'");

        var result = await host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(0, result.Exit);
        Assert.Equal(takenOver ? Readers : Readers - held, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'"));
        Assert.Equal(takenOver ? 0L : held, await host.QueryScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE status = 'sending'"));
        // A live run is not reported as interrupted.
        if (takenOver)
            Assert.DoesNotContain("deliveries are", result.Output);
        else
        {
            Assert.Contains($"{held} deliveries are being sent by another run that is still working", result.Output);
            Assert.DoesNotContain("stopped without releasing", result.Output);
        }
    }

    [Fact]
    public async Task ClaimsNamingNoLiveRunAreReportedAsHeldByAStoppedRun()
    {
        await using var smtp = new SmtpSink();
        await using var host = await PrepareAsync(smtp);
        await host.Service<DailyDigest>().ComposeAsync(new DateOnly(2025, 9, 8), CancellationToken.None);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await host.ExecuteAsync($"""
            INSERT INTO run_owners (id, host, pid, started_at, heartbeat_at) VALUES ('elsewhere/1/x', 'elsewhere', 1, 0, {now});
            UPDATE deliveries SET status = 'sending', lease_owner = 'elsewhere/1/x', attempts = 1, lease_until = {now + 600_000} WHERE id IN (1, 2);
            UPDATE deliveries SET status = 'sending', lease_owner = NULL, attempts = 1, lease_until = {now + 600_000} WHERE id = 3;
            """);

        var result = await host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Contains("2 deliveries are being sent by another run that is still working", result.Output);
        Assert.Contains("1 deliveries are held by a run that stopped without releasing them", result.Output);
    }
}
