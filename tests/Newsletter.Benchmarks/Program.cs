using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Newsletter;
using Newsletter.Cli;
using Newsletter.Delivery;
using Newsletter.Issues;
using Newsletter.Model;
using Newsletter.Rendering;
using Newsletter.Subscriptions;
using Scriban.Runtime;

// Benchmark helper for bench/run.sh. The measured send-now runs as the real executable in its
// own process (so its peak RSS is its own); this program prepares the data and measures render cost.
//   seed DIR SUBSCRIBERS PAPERS [GROUPS]   database in DIR with SUBSCRIBERS active readers and one issue of PAPERS papers
//                                 (realistic lengths, RealisticPapers; BENCH_ABSTRACTS=short: the old ~60 KB digest);
//                                 with GROUPS > 1, readers are spread over GROUPS keyword preferences (each gets a
//                                 different ~PAPERS of a pool of 200) instead of all getting the same papers
//   render DIR COUNT [PROVIDER CONNECTION]   renders and MIME-encodes COUNT personalised digests of the latest issue
//                                 in-process, read from DIR's SQLite database or the one named (the one the run composed in)
//   micro DIR                     BenchmarkDotNet: delivery path vs full render vs MIME alone
//   seed DIR SUBSCRIBERS PAPERS learned   the same, every reader with votes of their own (LearnedSeed): 100,000 orders
//   assemble DIR COUNT           COUNT readers each with the latest issue's papers in an order of their own: CPU µs per
//                                 reader copy (assembled from cards) beside the same reader count of one shared digest (spliced)
//   scoring DIR [READERS=1000000] [PAPERS=150] [EXAMPLES=2000]   learned ranking of READERS readers (ScoringBenchmark; DIR unused)
var mode = args.ElementAtOrDefault(0) ?? throw new ArgumentException("usage: seed DIR SUBSCRIBERS PAPERS | render DIR COUNT");
var directory = Path.GetFullPath(args[1]);
Directory.CreateDirectory(directory);
var settings = Settings(directory);

switch (mode)
{
    case "seed":
        // GROUPS "learned": one group, every reader with votes of their own (a learned order each).
        await SeedAsync(int.Parse(args[2]), int.Parse(args[3]), args.Length > 4 && args[4] != "learned" ? int.Parse(args[4]) : 1, args.ElementAtOrDefault(4) == "learned");
        break;
    case "render":
        if (args.Length > 4)
        {
            settings["Newsletter:Database:Provider"] = args[3];
            settings["Newsletter:Database:ConnectionString"] = args[4];
        }
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
    case "stages":
        await StagesAsync(int.Parse(args[2]));
        break;
    case "assemble":
        await AssembleAsync(int.Parse(args[2]));
        break;
    case "scoring":
        Newsletter.Benchmarks.ScoringBenchmark.Run(args.Length > 2 ? int.Parse(args[2]) : 1_000_000, args.Length > 3 ? int.Parse(args[3]) : 150,
            args.Length > 4 ? int.Parse(args[4]) : 2000);
        break;
    case "mailkit":
        await MailKitFloorAsync(int.Parse(args[2]), int.Parse(args[3]), int.Parse(args[4]));
        break;
    default:
        throw new ArgumentException($"unknown mode {mode}");
}
return 0;

async Task SeedAsync(int subscribers, int papers, int groups, bool learned = false)
{
    // Both modes draw from the same pool of papers: a single group gets the top PAPERS of it,
    // each of G groups those of 200 matching its two keywords (about as many).
    // Realistic papers (the default) are sent with the default caps, as a new operator would:
    // PAPERS is the day's count, the first 50 in full, the next under "More papers".
    // BENCH_ABSTRACTS=short keeps the old ~60 KB digest: ~500-character abstracts, no More list.
    var shortAbstracts = Environment.GetEnvironmentVariable("BENCH_ABSTRACTS") == "short";
    if (shortAbstracts)
    {
        settings["Newsletter:MaxEntriesPerIssue"] = papers.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Newsletter:MaxMoreEntriesPerIssue"] = "0";
    }
    else
    {
        settings.Remove("Newsletter:MaxEntriesPerIssue");
    }
    var pool = groups <= 1 ? papers : Math.Max(200, papers);
    await File.WriteAllTextAsync(Path.Combine(directory, "papers.json"), JsonSerializer.Serialize(shortAbstracts ? Papers(pool) : RealisticPapers.Create(pool)));
    await RunVerbAsync("collect");
    var seeding = TimeSpan.Zero;
    await using (var connection = new SqliteConnection(settings["Newsletter:Database:ConnectionString"]))
    {
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO subscribers (email, email_key, status, created_at, confirmed_at, served_until, keywords) VALUES ($e, $e, 'active', 0, 0, 0, $k)";
        var email = insert.Parameters.Add("$e", SqliteType.Text);
        var keywords = insert.Parameters.Add("$k", SqliteType.Text);
        var pairs = KeywordPairs().Take(groups).ToArray();
        var clock = Stopwatch.StartNew();
        for (var i = 1; i <= subscribers; i++)
        {
            email.Value = $"reader{i}@example.org";
            // Readers of one group are not neighbours in id order: the composer has to gather them.
            keywords.Value = groups <= 1 ? "" : $"{pairs[i % groups].A}\n{pairs[i % groups].B}";
            await insert.ExecuteNonQueryAsync();
        }
        if (learned)
            await Newsletter.Benchmarks.LearnedSeed.VotesAsync(connection, (SqliteTransaction)transaction, subscribers);
        await transaction.CommitAsync();
        seeding = clock.Elapsed;
    }
    // The preview first: it shows what send-now is about to send, which after the send is nothing new.
    await RunVerbAsync("preview", "--email", "reader1@example.org", "--date", "2025-09-08", "--out", Path.Combine(directory, "preview"));
    // Compose without sending: the relay is unreachable for this one run, so every delivery stays pending.
    // BENCH_COMPOSE=outside leaves it to bench/run.sh, which times the product's own process doing it.
    if (Environment.GetEnvironmentVariable("BENCH_COMPOSE") != "outside")
    {
        settings["Newsletter:Smtp:Port"] = "1";
        await RunVerbAsync("send-now", "--date", "2025-09-08");
    }
    var preview = await MimeKit.MimeMessage.LoadAsync(Path.Combine(directory, "preview", "digest.eml"));
    Console.WriteLine($"seeded {subscribers} subscribers, {papers} papers in {directory} (subscribers seeded in {seeding.TotalSeconds:F1} s); one digest is {new FileInfo(Path.Combine(directory, "preview", "digest.eml")).Length} bytes"
        + $" (HTML part {Encoding.UTF8.GetByteCount(preview.HtmlBody ?? "")} bytes, text part {Encoding.UTF8.GetByteCount(preview.TextBody ?? "")} bytes)");
}

async Task RenderAsync(int count)
{
    var app = NewsletterApp.Build(["render"], directory, b => b.Configuration.AddInMemoryCollection(settings));
    await app.Services.GetRequiredService<Newsletter.Orchestration.StartupTasks>().RunAsync(CancellationToken.None);
    var issues = app.Services.GetRequiredService<IssueStore>();
    var latest = await issues.LatestIssueIdAsync(CancellationToken.None)
        ?? throw new InvalidOperationException($"no issue in {settings["Newsletter:Database:ConnectionString"]}: render reads the database the run composed in");
    var issue = await issues.GetAsync(latest, CancellationToken.None);
    var renderer = app.Services.GetRequiredService<DigestRenderer>();
    var builder = app.Services.GetRequiredService<DigestMessageBuilder>();
    var links = app.Services.GetRequiredService<MailLinks>();
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    // The delivery path up to the SMTP client: splice, MIME, and the message written out as SMTP writes it (CRLF).
    var smtp = new MimeKit.FormatOptions { NewLineFormat = MimeKit.NewLineFormat.Dos };
    for (var i = 1; i <= count; i++)
    {
        var unsubscribe = links.Unsubscribe(i);
        var digest = renderer.RenderWire(issue, new DigestRecipient($"reader{i}@example.org", unsubscribe, links.Preferences(i)));
        var message = builder.Build(digest, $"reader{i}@example.org", $"<bench.{i}@example.org>", unsubscribe, DateTimeOffset.UtcNow);
        message.Prepare(MimeKit.EncodingConstraint.EightBit);
        message.WriteTo(smtp, Stream.Null);
    }
    Console.WriteLine($"render_msg_per_s={count / clock.Elapsed.TotalSeconds:F0} cpu_us_per_msg={(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / count:F0}");
}

// Cards assembled per reader (CardAssembly) against one digest spliced for everyone, one thread, CPU µs per reader.
async Task AssembleAsync(int count)
{
    var app = NewsletterApp.Build(["assemble"], directory, b => b.Configuration.AddInMemoryCollection(settings));
    await app.Services.GetRequiredService<Newsletter.Orchestration.StartupTasks>().RunAsync(CancellationToken.None);
    var issues = app.Services.GetRequiredService<IssueStore>();
    var issue = await issues.GetAsync((await issues.LatestIssueIdAsync(CancellationToken.None))!.Value, CancellationToken.None);
    var renderer = app.Services.GetRequiredService<DigestRenderer>();
    var links = app.Services.GetRequiredService<MailLinks>();
    var papers = issue.Entries.Concat(issue.More).ToList();
    var random = new Random(21);
    Issue Own() => OrderOf(papers.OrderBy(_ => random.Next()).ToList());
    Issue OrderOf(List<IssueEntry> order) => issue with
    {
        Entries = order.Take(issue.Entries.Count).Select((e, i) => e with { Position = i + 1, Why = $"like \u201c{order[i % 7].Title[..20]}\u201d" }).ToList(),
        More = order.Skip(issue.Entries.Count).Select((e, i) => e with { Position = issue.Entries.Count + i + 1 }).ToList(),
    };
    DigestRecipient Reader(int i) => new($"reader{i}@example.org", links.Unsubscribe(i), links.Preferences(i), (entry, more) => links.Feedback(i, entry, more));
    var builder = app.Services.GetRequiredService<DigestMessageBuilder>();
    var smtp = new MimeKit.FormatOptions { NewLineFormat = MimeKit.NewLineFormat.Dos };
    var allocated = new List<string>();
    // CPU µs per copy; with BENCH_STAGES=1 the message is also built and written as SMTP writes it, and the bytes
    // allocated per copy are noted (render alone, and with the message).
    double Time(Func<int, Issue> digest)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var bytes = GC.GetAllocatedBytesForCurrentThread();
        var message = 0L;
        for (var i = 1; i <= count; i++)
        {
            var wire = renderer.RenderWire(digest(i), Reader(i));
            if (Environment.GetEnvironmentVariable("BENCH_STAGES") == "1")
            {
                var before = GC.GetAllocatedBytesForCurrentThread();
                var built = builder.Build(wire, $"reader{i}@example.org", $"<bench.{i}@example.org>", links.Unsubscribe(i), DateTimeOffset.UtcNow);
                built.Prepare(MimeKit.EncodingConstraint.EightBit);
                built.WriteTo(smtp, Stream.Null);
                message += GC.GetAllocatedBytesForCurrentThread() - before;
            }
        }
        allocated.Add($"{(GC.GetAllocatedBytesForCurrentThread() - bytes - message) / 1024.0 / count:F0} KB render, {message / 1024.0 / count:F0} KB message");
        return (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / count;
    }
    var own = Enumerable.Range(0, count + 1).Select(_ => Own()).ToArray();
    var warm = Time(i => own[i]);
    var renders = renderer.CardRenders;
    var again = Enumerable.Range(0, count + 1).Select(_ => Own()).ToArray();
    var assembled = Time(i => again[i]);
    var shared = Time(_ => issue);
    Console.WriteLine($"| readers | µs per own-order copy, first {count} (cards being made) | µs per own-order copy, next {count} | µs per copy of one shared digest | marked renders (first {count}, then) | assembled |");
    Console.WriteLine("|---|---|---|---|---|---|");
    Console.WriteLine($"| {count:N0} | {warm:F0} | {assembled:F0} | {shared:F0} | {renders}, {renderer.CardRenders - renders} | {renderer.AssembledCount} |");
    Console.WriteLine($"allocated per copy (first, next, shared): {string.Join("; ", allocated)}");
    if (Environment.GetEnvironmentVariable("BENCH_STAGES") == "1")
    {
        var templates = app.Services.GetRequiredService<TemplateRenderer>();
        var zero = new int[issue.Entries.Count];
        double Stage(Action<int> stage)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            for (var i = 1; i <= count; i++) stage(i);
            return (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / count;
        }
        var marker = new DigestRecipient("zqmarka~", "zqmarku~", "zqmarkr~", (e, more) => "zqmarkl" + e + "~");
        var model = Stage(i => renderer.Model(again[i], marker, zero));
        LoopMarks Marks(Issue d, ScriptObject m, bool html)
        {
            var cards = new Dictionary<object, int>(ReferenceEqualityComparer.Instance);
            var index = 0;
            foreach (var name in new[] { "entries", "more" })
                foreach (var e in (ScriptArray)((ScriptObject)m["issue"]!)[name]!) cards[e!] = index++;
            return new LoopMarks(cards, "zqmark", html, skeleton: true);
        }
        var skeletons = Stage(i =>
        {
            var m = renderer.Model(again[i], marker, zero);
            templates.Render(DigestRenderer.HtmlTemplate, m, null, Marks(again[i], m, true));
            templates.Render(DigestRenderer.TextTemplate, m, null, Marks(again[i], m, false));
            templates.Render(DigestRenderer.SubjectTemplate, m, null, null);
        });
        var sign = Stage(i => { foreach (var e in again[i].Entries.Concat(again[i].More)) { links.Feedback(i, e.EntryId, true); links.Feedback(i, e.EntryId, false); } });
        Console.WriteLine($"skeleton renders: {renderer.SkeletonRenders}");
        Console.WriteLine($"stages: model {model:F0} µs, model + skeleton renders {skeletons:F0} µs, signing every feedback link {sign:F0} µs");
    }
}

// Where the microseconds of one message go before the socket, old path (joined bytes, MimeKit converts) beside the
// wire-ready runs, each stage timed alone over COUNT readers on one thread: CPU µs per message.
async Task StagesAsync(int count)
{
    var app = NewsletterApp.Build(["stages"], directory, b => b.Configuration.AddInMemoryCollection(settings));
    await app.Services.GetRequiredService<Newsletter.Orchestration.StartupTasks>().RunAsync(CancellationToken.None);
    var issues = app.Services.GetRequiredService<IssueStore>();
    var issue = await issues.GetAsync((await issues.LatestIssueIdAsync(CancellationToken.None))!.Value, CancellationToken.None);
    var renderer = app.Services.GetRequiredService<DigestRenderer>();
    var builder = app.Services.GetRequiredService<DigestMessageBuilder>();
    var links = app.Services.GetRequiredService<MailLinks>();
    var smtp = new MimeKit.FormatOptions { NewLineFormat = MimeKit.NewLineFormat.Dos };
    var readers = Enumerable.Range(1, count).Select(i => new DigestRecipient($"reader{i}@example.org", links.Unsubscribe(i), links.Preferences(i))).ToArray();
    double Time(Action<int> stage)
    {
        for (var i = 0; i < Math.Min(200, count); i++) stage(i); // warm-up
        GC.Collect();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < count; i++) stage(i);
        return (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / count;
    }
    var encoded = readers.Select(r => renderer.RenderEncoded(issue, r)).Take(1).Single();
    var wire = renderer.RenderWire(issue, readers[0]);
    var oldMessage = builder.Build(encoded, readers[0].Email, "<b@example.org>", readers[0].UnsubscribeUrl, DateTimeOffset.UnixEpoch);
    var newMessage = builder.Build(wire, readers[0].Email, "<b@example.org>", readers[0].UnsubscribeUrl, DateTimeOffset.UnixEpoch);
    var links2 = Time(i => { links.Unsubscribe(i + 1); links.Preferences(i + 1); });
    var spliceOld = Time(i => renderer.RenderEncoded(issue, readers[i]));
    var spliceNew = Time(i => renderer.RenderWire(issue, readers[i]));
    var buildOld = Time(i => builder.Build(encoded, readers[i].Email, "<b@example.org>", readers[i].UnsubscribeUrl, DateTimeOffset.UnixEpoch));
    var buildNew = Time(i => builder.Build(wire, readers[i].Email, "<b@example.org>", readers[i].UnsubscribeUrl, DateTimeOffset.UnixEpoch));
    var headersOnly = Time(i => new MimeKit.MimeMessage { From = { new MimeKit.MailboxAddress("Daily Papers", "digest@localhost") }, To = { MimeKit.MailboxAddress.Parse(readers[i].Email) }, Subject = wire.Subject, Date = DateTimeOffset.UnixEpoch, MessageId = "b@example.org" });
    var multipartOnly = Time(_ => new MimeKit.MultipartAlternative());
    Console.Error.WriteLine($"headers only {headersOnly:F0} µs, an empty multipart {multipartOnly:F0} µs");
    var writeOld = Time(_ => oldMessage.WriteTo(smtp, Stream.Null));
    var writeNew = Time(_ => newMessage.WriteTo(smtp, Stream.Null));
    // MailKit's DATA filter (dot-stuffing) over the written message, as SmtpClient applies it.
    var dotted = Time(_ =>
    {
        using var filtered = new MimeKit.IO.FilteredStream(Stream.Null);
        filtered.Add(new MailKit.Net.Smtp.SmtpDataFilter(false));
        newMessage.WriteTo(smtp, filtered);
        filtered.Flush();
    }) - writeNew;
    using var measure = new MimeKit.IO.MeasuringStream();
    newMessage.WriteTo(smtp, measure);
    Console.WriteLine($"message_bytes={measure.Length}");
    Console.WriteLine("| stage | before µs | after µs |\n|---|---|---|");
    Console.WriteLine($"| signed links (2 HMACs) | {links2:F0} | {links2:F0} |");
    Console.WriteLine($"| splice (personal lines; before: join + copy of the whole body) | {spliceOld:F0} | {spliceNew:F0} |");
    Console.WriteLine($"| MIME tree (before: control and line-length scans of each body) | {buildOld:F0} | {buildNew:F0} |");
    Console.WriteLine($"| MIME writing incl. line-ending conversion (before: MimeKit's Unix2Dos pass) | {writeOld:F0} | {writeNew:F0} |");
    Console.WriteLine($"| dot-stuffing (MailKit's SmtpDataFilter) | {dotted:F0} | {dotted:F0} |");
    Console.WriteLine($"| total before the socket | {links2 + spliceOld + buildOld + writeOld + dotted:F0} | {links2 + spliceNew + buildNew + writeNew + dotted:F0} |");

    // DKIM (rsa-sha256, 2048 bits, relaxed/relaxed) as SigningTransport applies it, split into its parts.
    using var rsa = System.Security.Cryptography.RSA.Create(2048);
    var keyPath = Path.Combine(directory, "dkim-stages.pem");
    await File.WriteAllTextAsync(keyPath, rsa.ExportRSAPrivateKeyPem());
    var dkim = new DkimSigning(Microsoft.Extensions.Options.Options.Create(new DkimOptions { Domain = "localhost", Selector = "bench", PrivateKeyPath = keyPath }), TimeProvider.System);
    var wires = readers.Select(r => renderer.RenderWire(issue, r)).ToArray();
    var signed = Time(i => dkim.Sign(builder.Build(wires[i], readers[i].Email, "<b@example.org>", readers[i].UnsubscribeUrl, DateTimeOffset.UnixEpoch)))
        - Time(i => builder.Build(wires[i], readers[i].Email, "<b@example.org>", readers[i].UnsubscribeUrl, DateTimeOffset.UnixEpoch));
    var digest = System.Security.Cryptography.SHA256.HashData("x"u8);
    var rsaOnly = Time(_ => rsa.SignHash(digest, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1));
    using var copy = new MemoryStream();
    newMessage.Body!.WriteTo(smtp, copy, contentOnly: true);
    var bodyBytes = copy.ToArray();
    var shaOnly = Time(_ => System.Security.Cryptography.SHA256.HashData(bodyBytes));
    foreach (var body in new[] { wire.Text, wire.Html })
        Console.Error.WriteLine($"runs: {body.Runs.Count}, under 1 KB: {body.Runs.Count(r => r.Length < 1024)} holding {body.Runs.Where(r => r.Length < 1024).Sum(r => r.Length)} bytes of {body.Length}");
    Console.WriteLine($"\n| DKIM part ({bodyBytes.Length:N0}-byte body) | µs |\n|---|---|");
    Console.WriteLine($"| whole signature (canonicalization, hashes, RSA) | {signed:F0} |");
    Console.WriteLine($"| RSA-2048 private-key operation | {rsaOnly:F0} |");
    Console.WriteLine($"| SHA-256 of the body alone | {shaOnly:F0} |");
    Console.WriteLine($"| the rest: relaxed canonicalization of body and headers, header hash | {signed - rsaOnly - shaOnly:F0} |");
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
    ["Newsletter:ArxivApiUrl"] = "",
    ["Logging:LogLevel:Default"] = "Warning",
};

static string Keyword(int k) => RealisticPapers.Keyword(k);

static IEnumerable<(string A, string B)> KeywordPairs() =>
    from a in Enumerable.Range(0, 40) from b in Enumerable.Range(a + 1, 39 - a)
    orderby (a * 7919 + b * 104729) % 780 select (Keyword(a), Keyword(b));

// The old short papers (BENCH_ABSTRACTS=short): ~90-character titles, 6 authors, ~550-character
// abstracts; each names three of the 40 keywords.
static object[] Papers(int count) => Enumerable.Range(1, count).Select(i => (object)new
{
    paper = new
    {
        id = $"2509.{10000 + i}",
        title = $"Scaling Sparse Mixture-of-Experts Models for Long-Context Reasoning, Study {i}",
        summary = $"On {Keyword(i * 7 % 40)}, {Keyword(i * 13 % 40)} and {Keyword(i * 17 % 40)}. "
            + string.Join(' ', Enumerable.Repeat("We study how sparse expert routing interacts with long-context attention and report consistent gains on reasoning benchmarks.", 4)),
        authors = Enumerable.Range(1, 6).Select(a => new { name = $"Author {a} Surname{i}", hidden = false }).ToArray(),
        upvotes = 1000 - i,
        publishedAt = "2025-09-05T12:00:00.000Z",
    },
}).ToArray();
