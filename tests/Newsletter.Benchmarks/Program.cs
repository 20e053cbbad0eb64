using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Newsletter;
using Newsletter.Cli;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;

// send-now end to end (claim, render, MIME, SMTP, write-back) for N subscribers against the
// SmtpServer package in this process, which counts and discards what it receives.
// With a third argument, sends to that 127.0.0.1 port instead (e.g. Postfix's smtp-sink).
// Usage: dotnet run -c Release --project tests/Newsletter.Benchmarks -- [subscribers] [connections] [port]
var subscribers = args.Length > 0 ? int.Parse(args[0]) : 10_000;
var connections = args.Length > 1 ? int.Parse(args[1]) : 4;
var externalPort = args.Length > 2 ? int.Parse(args[2]) : (int?)null;
var directory = Path.Combine(Path.GetTempPath(), "newsletter-bench-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(directory);
var fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures");

int port;
using (var probe = new TcpListener(IPAddress.Loopback, 0)) { probe.Start(); port = externalPort ?? ((IPEndPoint)probe.LocalEndpoint).Port; }
var received = new Counter();
var services = new SmtpServer.ComponentModel.ServiceProvider();
services.Add(new DiscardingStore(received));
using var stopSink = new CancellationTokenSource();
var sink = externalPort is not null ? Task.CompletedTask : new SmtpServer.SmtpServer(new SmtpServerOptionsBuilder().ServerName("bench")
    .Endpoint(e => e.Endpoint(new IPEndPoint(IPAddress.Loopback, port))).Build(), services).StartAsync(stopSink.Token);

var settings = new Dictionary<string, string?>
{
    ["Newsletter:Database:ConnectionString"] = $"Data Source={Path.Combine(directory, "bench.db")}",
    ["Newsletter:TemplatesPath"] = Path.Combine(AppContext.BaseDirectory, "templates"),
    ["Newsletter:Sources:0:Name"] = "hf",
    ["Newsletter:Sources:0:Url"] = new Uri(Path.Combine(fixtures, "hf_daily_papers.json")).AbsoluteUri,
    ["Newsletter:Sources:1:Name"] = "rss",
    ["Newsletter:Sources:1:Url"] = new Uri(Path.Combine(fixtures, "arxiv_rss_cs.AI.xml")).AbsoluteUri,
    ["Newsletter:Smtp:Host"] = "127.0.0.1",
    ["Newsletter:Smtp:Port"] = port.ToString(),
    ["Newsletter:Smtp:Security"] = "None",
    ["Newsletter:Smtp:MaxConnections"] = connections.ToString(),
    ["Logging:LogLevel:Default"] = "Warning",
};

async Task<int> RunVerb(params string[] verb)
{
    var app = NewsletterApp.Build(verb, directory, b => b.Configuration.AddInMemoryCollection(settings));
    await using var _ = app;
    return await new NewsletterCli(app, TextWriter.Null, Console.Error).InvokeAsync(verb);
}

await RunVerb("collect");
await using (var connection = new SqliteConnection(settings["Newsletter:Database:ConnectionString"]))
{
    await connection.OpenAsync();
    await using var transaction = await connection.BeginTransactionAsync();
    await connection.ExecuteAsync("INSERT INTO subscribers (email, email_key, status, created_at) VALUES (@e, @e, 'active', 0)",
        Enumerable.Range(1, subscribers).Select(i => new { e = $"reader{i}@example.org" }), transaction);
    await transaction.CommitAsync();
}

var cpu = Process.GetCurrentProcess().TotalProcessorTime;
var clock = Stopwatch.StartNew();
var exit = await RunVerb("send-now", "--date", "2025-09-08");
clock.Stop();
var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
if (externalPort is not null)
{
    await using var connection = new SqliteConnection(settings["Newsletter:Database:ConnectionString"]);
    received.Value = await connection.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'");
}

Console.WriteLine($"subscribers={subscribers} connections={connections} exit={exit} received={received.Value} " +
                  $"seconds={clock.Elapsed.TotalSeconds:F2} msg_per_s={received.Value / clock.Elapsed.TotalSeconds:F0} " +
                  $"cpu_seconds={cpuUsed.TotalSeconds:F2} peak_working_set_mb={Process.GetCurrentProcess().PeakWorkingSet64 / 1048576}");
stopSink.Cancel();
try { await sink; } catch (OperationCanceledException) { }
SqliteConnection.ClearAllPools();
Directory.Delete(directory, true);
return exit;

sealed class Counter { public int Value; }

sealed class DiscardingStore(Counter counter) : MessageStore
{
    public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref counter.Value);
        return Task.FromResult(SmtpResponse.Ok);
    }
}
