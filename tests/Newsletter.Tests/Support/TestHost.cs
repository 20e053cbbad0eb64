using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using Newsletter.Cli;
using Newsletter.Storage;

namespace Newsletter.Tests.Support;

/// <summary>
/// The real host in a temporary folder of its own (SQLite file, outbox), configured like an
/// operator would, with the shipped templates. Verbs run in-process through the real CLI.
/// </summary>
public sealed class TestHost : IAsyncDisposable
{
    private readonly Dictionary<string, string?> _settings;
    private readonly List<WebApplication> _apps = [];
    private Database? _database;
    private readonly bool _ownsDatabase;

    /// <param name="provider">
    /// The database behind the host; by default SQLite, or PostgreSQL for the whole suite when
    /// <c>NEWSLETTER_TEST_PROVIDER=Postgres</c> (each host then gets a fresh database of its own).
    /// </param>
    public TestHost(Dictionary<string, string?>? settings = null, DatabaseProvider? provider = null)
    {
        Directory = Path.Combine(Path.GetTempPath(), "newsletter-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Provider = provider ?? (TestPostgres.SuiteOnPostgres ? DatabaseProvider.Postgres : DatabaseProvider.Sqlite);
        // A connection string in the settings shares another host's database (a second instance).
        _ownsDatabase = settings?.ContainsKey("Newsletter:Database:ConnectionString") != true;
        ConnectionString = !_ownsDatabase
            ? settings!["Newsletter:Database:ConnectionString"]!
            : Provider == DatabaseProvider.Postgres
                ? TestPostgres.CreateDatabase()
                : $"Data Source={Path.Combine(Directory, "newsletter.db")}";
        _settings = new Dictionary<string, string?>
        {
            ["Newsletter:Database:Provider"] = Provider.ToString(),
            ["Newsletter:Database:ConnectionString"] = ConnectionString,
            ["Newsletter:TemplatesPath"] = Path.Combine(AppContext.BaseDirectory, "templates"),
            ["Newsletter:Delivery:PickupDirectory"] = Path.Combine(Directory, "outbox"),
            ["Newsletter:PublicBaseUrl"] = "https://papers.example.org",
            ["Newsletter:From:Address"] = "digest@papers.example.org",
            // No default internet sources in tests: a test that wants sources names them.
            ["Newsletter:Sources:0:Name"] = "none",
            ["Newsletter:Sources:0:Url"] = "file:///nonexistent/none.json",
            // No arXiv category lookups on the internet; a test that wants them serves its own.
            ["Newsletter:ArxivApiUrl"] = "",
            // The embedding model costs ~150 ms a paper and ~380 MB while loaded: the tests about learned ranking turn it on.
            ["Newsletter:Ranking:Model"] = "Off",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? [])
            _settings[key] = value;
    }

    public string Directory { get; }

    public DatabaseProvider Provider { get; }

    /// <summary>The host's own database (a file in <see cref="Directory"/>, or a PostgreSQL database of its own).</summary>
    public string ConnectionString { get; }

    /// <summary>For the few tests about one engine's own behaviour (a locked SQLite file, say).</summary>
    public void RequireProvider(DatabaseProvider provider)
    {
        if (Provider != provider)
            Assert.Skip($"this test is about {provider} only; the suite runs on {Provider} now");
    }

    /// <summary>Every log line at Information or above, as "Category: message", from every host built here.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Logs { get; } = new();

    /// <summary>The configuration the host is built with, e.g. to pass to a child process.</summary>
    public IReadOnlyDictionary<string, string?> Settings => _settings;

    public string Outbox => Path.Combine(Directory, "outbox");

    public void Set(string key, string? value) => _settings[key] = value;

    /// <summary>Last-word changes to every host built from now on (an exporter to listen with, say).</summary>
    public Action<WebApplicationBuilder>? Configure { get; set; }

    /// <summary>The clock of every host built from now on without an explicit one (null: the real clock).</summary>
    public TimeProvider? Time { get; set; }

    /// <summary>Sources replace the placeholder; each is (name, kind, url).</summary>
    public void UseSources(params (string Name, string Kind, string Url)[] sources)
    {
        foreach (var key in _settings.Keys.Where(k => k.StartsWith("Newsletter:Sources:", StringComparison.Ordinal)).ToList())
            _settings.Remove(key);
        for (var i = 0; i < sources.Length; i++)
        {
            _settings[$"Newsletter:Sources:{i}:Name"] = sources[i].Name;
            _settings[$"Newsletter:Sources:{i}:Kind"] = sources[i].Kind;
            _settings[$"Newsletter:Sources:{i}:Url"] = sources[i].Url;
        }
    }

    public void UseSmtp(int port, int maxConnections = 2)
    {
        Set("Newsletter:Smtp:Host", "127.0.0.1");
        Set("Newsletter:Smtp:Port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Set("Newsletter:Smtp:Security", "None");
        Set("Newsletter:Smtp:MaxConnections", maxConnections.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>A private, editable copy of the shipped templates, which the host then uses.</summary>
    public string CopyTemplates()
    {
        var copy = Path.Combine(Directory, "templates");
        if (!System.IO.Directory.Exists(copy))
        {
            var shipped = Path.Combine(AppContext.BaseDirectory, "templates");
            foreach (var file in System.IO.Directory.GetFiles(shipped, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(copy, Path.GetRelativePath(shipped, file));
                System.IO.Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
        }
        Set("Newsletter:TemplatesPath", copy);
        return copy;
    }

    /// <summary>
    /// Starts the whole service (Kestrel on a free 127.0.0.1 port, scheduler, background mailers)
    /// with <c>PublicBaseUrl</c> pointing at it, so links in mail lead back to it.
    /// </summary>
    /// <param name="publicBaseUrl">Links in mail point here instead (e.g. an https site behind a proxy).</param>
    public async Task<string> StartServiceAsync(TimeProvider? time = null, string? publicBaseUrl = null)
    {
        var baseUrl = $"http://127.0.0.1:{SmtpSink.FreePort()}";
        Set("Newsletter:PublicBaseUrl", publicBaseUrl ?? baseUrl);
        // Scheduled collecting and digests stay out of the way of web tests.
        Set("Newsletter:Schedule:Collect", "0 0 0 1 1 ? 2099");
        Set("Newsletter:Schedule:Digest", "0 0 0 1 1 ? 2099");
        Set("Newsletter:Schedule:ReaderPoll", "0 0 0 1 1 ? 2099");
        var app = Build(["--urls", baseUrl], time);
        await app.StartAsync();
        return baseUrl;
    }

    public WebApplication Build(string[] args, TimeProvider? time = null)
    {
        time ??= Time;
        var app = NewsletterApp.Build(args, Directory, builder =>
        {
            builder.Configuration.AddInMemoryCollection(_settings);
            builder.Logging.AddProvider(new CapturingLoggerProvider(Logs));
            if (time is not null)
                builder.Services.AddSingleton(time);
            Configure?.Invoke(builder);
        });
        _apps.Add(app);
        return app;
    }

    /// <summary>Runs one verb as an operator would and returns its exit code and output.</summary>
    public async Task<CliResult> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var app = Build(args);
        var exit = await new NewsletterCli(app, output, error).InvokeAsync(args);
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    public T Service<T>() where T : notnull
    {
        var app = _apps.LastOrDefault() ?? Build(["collect"]);
        return app.Services.GetRequiredService<T>();
    }

    /// <summary>A connection to the host's database, whichever the provider (SQL in tests is kept portable).</summary>
    public async Task<System.Data.Common.DbConnection> OpenAsync()
    {
        _database ??= new Database(Provider, ConnectionString, TimeSpan.FromSeconds(10));
        return await _database.OpenAsync(CancellationToken.None);
    }

    public async Task<T> QueryScalarAsync<T>(string sql)
    {
        await using var connection = await OpenAsync();
        return await connection.ExecuteScalarAsync<T>(sql) ?? throw new InvalidOperationException("no value");
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await connection.ExecuteAsync(sql);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            try { await app.StopAsync(); } catch (InvalidOperationException) { } // never started
            await app.DisposeAsync();
        }
        _database?.Dispose();
        SqliteConnection.ClearAllPools();
        if (Provider == DatabaseProvider.Postgres && _ownsDatabase)
            TestPostgres.DropDatabase(ConnectionString);
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Keeps log lines for assertions; filtered by the host's own levels like any provider.</summary>
internal sealed class CapturingLoggerProvider(System.Collections.Concurrent.ConcurrentQueue<string> lines) : Microsoft.Extensions.Logging.ILoggerProvider
{
    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);

    public void Dispose() { }

    private sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<string> lines) : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Information;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
                lines.Enqueue($"{category}: {formatter(state, exception)}");
        }
    }
}

public sealed record CliResult(int Exit, string Output, string Error)
{
    public override string ToString() => $"exit {Exit}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}
