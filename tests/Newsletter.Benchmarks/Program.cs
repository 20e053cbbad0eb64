using System.Diagnostics;
using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Newsletter;
using Newsletter.Cli;
using Newsletter.Delivery;
using Newsletter.Issues;
using Newsletter.Rendering;
using Newsletter.Subscriptions;

// Benchmark helper for bench/run.sh. The measured send-now runs as the real executable in its
// own process (so its peak RSS is its own); this program prepares the data and measures render cost.
//   seed DIR SUBSCRIBERS PAPERS   database in DIR with SUBSCRIBERS active readers and one issue of PAPERS papers
//   render DIR COUNT              renders and MIME-encodes COUNT personalised digests of that issue in-process
//   micro DIR                     BenchmarkDotNet: delivery path vs full render vs MIME alone
var mode = args.ElementAtOrDefault(0) ?? throw new ArgumentException("usage: seed DIR SUBSCRIBERS PAPERS | render DIR COUNT");
var directory = Path.GetFullPath(args[1]);
Directory.CreateDirectory(directory);
var settings = Settings(directory);

switch (mode)
{
    case "seed":
        await SeedAsync(int.Parse(args[2]), int.Parse(args[3]));
        break;
    case "render":
        await RenderAsync(int.Parse(args[2]));
        break;
    case "micro":
        RenderBenchmarks.Directory = directory;
        // In-process: the benchmark needs the seeded folder and this build's templates.
        BenchmarkDotNet.Running.BenchmarkRunner.Run<RenderBenchmarks>(
            BenchmarkDotNet.Configs.ConfigExtensions.AddJob(BenchmarkDotNet.Configs.DefaultConfig.Instance,
                BenchmarkDotNet.Jobs.JobExtensions.WithToolchain(BenchmarkDotNet.Jobs.Job.ShortRun, BenchmarkDotNet.Toolchains.InProcess.Emit.InProcessEmitToolchain.Instance)),
            args.Skip(2).ToArray());
        break;
    case "mailkit":
        await MailKitFloorAsync(int.Parse(args[2]), int.Parse(args[3]), int.Parse(args[4]));
        break;
    default:
        throw new ArgumentException($"unknown mode {mode}");
}
return 0;

async Task SeedAsync(int subscribers, int papers)
{
    await File.WriteAllTextAsync(Path.Combine(directory, "papers.json"), JsonSerializer.Serialize(Papers(papers)));
    await RunVerbAsync("collect");
    await using (var connection = new SqliteConnection(settings["Newsletter:Database:ConnectionString"]))
    {
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO subscribers (email, email_key, status, created_at, confirmed_at) VALUES ($e, $e, 'active', 0, 0)";
        var email = insert.Parameters.Add("$e", SqliteType.Text);
        for (var i = 1; i <= subscribers; i++)
        {
            email.Value = $"reader{i}@example.org";
            await insert.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
    }
    // Compose without sending: the relay is unreachable for this one run, so every delivery stays pending.
    settings["Newsletter:Smtp:Port"] = "1";
    await RunVerbAsync("send-now", "--date", "2025-09-08");
    await RunVerbAsync("preview", "--email", "reader1@example.org", "--out", Path.Combine(directory, "preview"));
    Console.WriteLine($"seeded {subscribers} subscribers, {papers} papers in {directory}; one digest is {new FileInfo(Path.Combine(directory, "preview", "digest.eml")).Length} bytes");
}

async Task RenderAsync(int count)
{
    var app = NewsletterApp.Build(["render"], directory, b => b.Configuration.AddInMemoryCollection(settings));
    await app.Services.GetRequiredService<Newsletter.Orchestration.StartupTasks>().RunAsync(CancellationToken.None);
    var issues = app.Services.GetRequiredService<IssueStore>();
    var issue = await issues.GetAsync((await issues.LatestIssueIdAsync(CancellationToken.None))!.Value, CancellationToken.None);
    var renderer = app.Services.GetRequiredService<DigestRenderer>();
    var builder = app.Services.GetRequiredService<DigestMessageBuilder>();
    var links = app.Services.GetRequiredService<MailLinks>();
    var clock = Stopwatch.StartNew();
    for (var i = 1; i <= count; i++)
    {
        var unsubscribe = links.Unsubscribe(i);
        var digest = renderer.RenderEncoded(issue, new DigestRecipient($"reader{i}@example.org", unsubscribe, links.Preferences(i)));
        var message = builder.Build(digest, $"reader{i}@example.org", $"<bench.{i}@example.org>", unsubscribe, DateTimeOffset.UtcNow);
        message.Prepare(MimeKit.EncodingConstraint.EightBit);
        message.WriteTo(Stream.Null);
    }
    Console.WriteLine($"render_msg_per_s={count / clock.Elapsed.TotalSeconds:F0}");
}

// The floor of the SMTP path (for profiling; not part of run.sh): one pre-built digest sent COUNT times over CONNECTIONS MailKit
// connections (sockets with NoDelay), nothing else.
async Task MailKitFloorAsync(int count, int connections, int port)
{
    var message = await MimeKit.MimeMessage.LoadAsync(Path.Combine(directory, "preview", "digest.eml"));
    var sent = 0;
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync("127.0.0.1", port);
        using var client = new MailKit.Net.Smtp.SmtpClient();
        await client.ConnectAsync(socket, "127.0.0.1", port, MailKit.Security.SecureSocketOptions.None);
        while (Interlocked.Increment(ref sent) <= count)
            await client.SendAsync(message);
        await client.DisconnectAsync(true);
    })));
    Console.WriteLine($"mailkit_msg_per_s={count / clock.Elapsed.TotalSeconds:F0} cpu_ms_per_msg={(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / count:F3}");
}

async Task RunVerbAsync(params string[] verb)
{
    var app = NewsletterApp.Build(verb, directory, b => b.Configuration.AddInMemoryCollection(settings));
    await using var _ = app;
    await new NewsletterCli(app, TextWriter.Null, Console.Error).InvokeAsync(verb);
}

static Dictionary<string, string?> Settings(string directory) => new()
{
    ["Newsletter:Database:ConnectionString"] = $"Data Source={Path.Combine(directory, "bench.db")}",
    ["Newsletter:TemplatesPath"] = Path.Combine(AppContext.BaseDirectory, "templates"),
    ["Newsletter:Sources:0:Name"] = "bench",
    ["Newsletter:Sources:0:Kind"] = "HuggingFaceDaily",
    ["Newsletter:Sources:0:Url"] = new Uri(Path.Combine(directory, "papers.json")).AbsoluteUri,
    ["Newsletter:Smtp:Host"] = "127.0.0.1",
    ["Newsletter:Smtp:Security"] = "None",
    ["Newsletter:MaxEntriesPerIssue"] = "100",
    ["Newsletter:Secret"] = "benchmark-secret-0123456789",
    ["Logging:LogLevel:Default"] = "Warning",
};

// Papers shaped like a Hugging Face daily list: ~90-character titles, 6 authors, ~1,100-character abstracts.
static object[] Papers(int count) => Enumerable.Range(1, count).Select(i => (object)new
{
    paper = new
    {
        id = $"2509.{10000 + i}",
        title = $"Scaling Sparse Mixture-of-Experts Models for Long-Context Reasoning, Study {i}",
        summary = string.Join(' ', Enumerable.Repeat("We study how sparse expert routing interacts with long-context attention and report consistent gains on reasoning benchmarks.", 4)),
        authors = Enumerable.Range(1, 6).Select(a => new { name = $"Author {a} Surname{i}", hidden = false }).ToArray(),
        upvotes = 100 - i,
        publishedAt = "2025-09-05T12:00:00.000Z",
    },
}).ToArray();
