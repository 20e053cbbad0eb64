namespace Newsletter.Tests.Support;

/// <summary>
/// Tests that need a system program call one of these first. When the program is missing the
/// test is skipped with a sentence saying how to install it, so <c>dotnet test</c> passes on a
/// machine with only the .NET SDK; CI (<c>.ci/run</c>) sets <see cref="RequireSwitch"/> so that a
/// missing program fails the test instead and nothing is skipped silently.
/// </summary>
public static class SystemPrograms
{
    /// <summary>Environment variable that turns every such skip into a failure (set by <c>.ci/run</c>).</summary>
    public const string RequireSwitch = "NEWSLETTER_REQUIRE_SYSTEM_PROGRAMS";

    /// <summary>
    /// Overrides the folder the programs are looked up in (e.g. an empty folder), so the
    /// "machine with only the .NET SDK" case is checked cheaply on a machine that has them
    /// (<c>.ci/fresh-machine</c>).
    /// </summary>
    public const string ProgramsFolderVariable = "NEWSLETTER_SYSTEM_PROGRAMS_DIR";

    public static string Chromium => Locate("/usr/bin", "chromium");

    public static string SmtpSink => Locate("/usr/sbin", "smtp-sink");

    /// <summary>The folder holding Debian's PostgreSQL server binaries (initdb, pg_ctl), or null when there is none.</summary>
    public static string? PostgresBinaries =>
        (Environment.GetEnvironmentVariable(ProgramsFolderVariable) is { Length: > 0 } overridden
            ? [overridden]
            : new[] { "/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin" })
        .FirstOrDefault(folder => File.Exists(Path.Combine(folder, "pg_ctl")) && File.Exists(Path.Combine(folder, "initdb")));

    private static string Locate(string folder, string name) =>
        Path.Combine(Environment.GetEnvironmentVariable(ProgramsFolderVariable) is { Length: > 0 } overridden ? overridden : folder, name);

    public static void RequireChromium() =>
        Require(File.Exists(Chromium), $"Debian's Chromium is not at {Chromium}: install it with `apt-get install chromium`");

    public static void RequireSmtpSink() =>
        Require(File.Exists(SmtpSink), $"Postfix's smtp-sink is not at {SmtpSink}: install it with `apt-get install postfix` (choose \"No configuration\"; the daemon is never started)");

    /// <summary>Skips (or, under the CI switch, fails) the current test when <paramref name="present"/> is false.</summary>
    public static void Require(bool present, string howToInstall)
    {
        if (present)
            return;
        if (Environment.GetEnvironmentVariable(RequireSwitch) == "1")
            Assert.Fail($"{howToInstall} ({RequireSwitch}=1 makes a missing program a failure)");
        Assert.Skip(howToInstall);
    }
}
