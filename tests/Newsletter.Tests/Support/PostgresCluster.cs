namespace Newsletter.Tests.Support;

/// <summary>
/// A PostgreSQL cluster of one test's own (Debian's initdb/pg_ctl on a free port under a temp folder),
/// which the test may start late, stop and start again, as an operator's database server comes and
/// goes. The shared server of <see cref="TestPostgres"/> is never stopped: other tests use it.
/// </summary>
public sealed class PostgresCluster : IDisposable
{
    private readonly string _bin, _root, _data;
    private readonly bool _asRoot = Environment.UserName == "root";

    private PostgresCluster(string bin)
    {
        _bin = bin;
        _root = Path.Combine(Path.GetTempPath(), "newsletter-pg-own-" + Guid.NewGuid().ToString("N")[..8]);
        _data = Path.Combine(_root, "data");
        Directory.CreateDirectory(_root);
        if (_asRoot)
            TestPostgres.RunAs(false, "chown", ["postgres", _root]);
        Port = SmtpSink.FreePort();
        TestPostgres.RunAs(_asRoot, Path.Combine(_bin, "initdb"), ["-D", _data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
    }

    public int Port { get; }

    /// <summary>The cluster's default database; pooled, as an operator's connection string is.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres";

    /// <summary>An initialised cluster, not yet running (a skip, or a failure under CI's switch, without the binaries).</summary>
    public static PostgresCluster Create()
    {
        var bin = SystemPrograms.PostgresBinaries;
        SystemPrograms.Require(bin is not null, TestPostgres.HowToGetOne);
        return new PostgresCluster(bin!);
    }

    public void Start() => TestPostgres.RunAs(_asRoot, Path.Combine(_bin, "pg_ctl"), ["-D", _data, "-l", Path.Combine(_root, "log"), "-w", "-o",
        $"-p {Port} -k {_root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300", "start"]);

    /// <summary>A fast shutdown: sessions are ended, as when the server is restarted or its host goes down cleanly.</summary>
    public void Stop() => TestPostgres.RunAs(_asRoot, Path.Combine(_bin, "pg_ctl"), ["-D", _data, "-m", "fast", "-w", "stop"]);

    public void Dispose()
    {
        try { TestPostgres.RunAs(_asRoot, Path.Combine(_bin, "pg_ctl"), ["-D", _data, "-m", "immediate", "stop"]); }
        catch (InvalidOperationException) { } // not running
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
