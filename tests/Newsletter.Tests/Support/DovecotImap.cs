using System.Diagnostics;

namespace Newsletter.Tests.Support;

/// <summary>
/// Debian's Dovecot IMAP server as the tests' own instance: a generated configuration in a temp
/// folder, a free 127.0.0.1 port, one passwd-file user, maildir storage; stopped on dispose.
/// Skips (or fails under <see cref="SystemPrograms.RequireSwitch"/>) naming <c>dovecot-imapd</c> when missing.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DovecotImap : IDisposable
{
    public const string User = "bounces";
    public const string Password = "bounce-secret";
    private readonly Process _process;
    private readonly string _directory;

    public static string Program => Path.Combine(Environment.GetEnvironmentVariable(SystemPrograms.ProgramsFolderVariable) is { Length: > 0 } folder ? folder : "/usr/sbin", "dovecot");

    public DovecotImap()
    {
        SystemPrograms.Require(File.Exists(Program) && File.Exists("/usr/lib/dovecot/imap"),
            $"Dovecot's IMAP server is not at {Program}: install it with `apt-get install dovecot-imapd` (the tests start their own instance; the system one is never used)");
        _directory = Path.Combine(Path.GetTempPath(), "newsletter-dovecot", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        Port = SmtpSink.FreePort();
        // As root, Dovecot's own users run its helpers and own the mail; otherwise the current user does everything.
        var root = Environment.UserName == "root";
        var internalUser = root ? "dovecot" : Environment.UserName;
        var loginUser = root ? "dovenull" : Environment.UserName;
        var mailUser = root ? "dovecot" : Environment.UserName;
        foreach (var sub in new[] { "run", "state", "mail", "home" })
            Directory.CreateDirectory(Path.Combine(_directory, sub));
        var open = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
                   | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(_directory, open);
        foreach (var sub in new[] { "mail", "home" })
            File.SetUnixFileMode(Path.Combine(_directory, sub), open | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite);
        File.WriteAllText(Path.Combine(_directory, "users"), $"{User}:{{PLAIN}}{Password}\n");
        File.SetUnixFileMode(Path.Combine(_directory, "users"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var config = Path.Combine(_directory, "dovecot.conf");
        File.WriteAllText(config, $$"""
            base_dir = {{_directory}}/run
            state_dir = {{_directory}}/state
            log_path = {{_directory}}/dovecot.log
            protocols = imap
            listen = 127.0.0.1
            ssl = no
            disable_plaintext_auth = no
            auth_mechanisms = plain login
            default_internal_user = {{internalUser}}
            default_internal_group = {{internalUser}}
            default_login_user = {{loginUser}}
            first_valid_uid = 1
            mail_location = maildir:{{_directory}}/mail/%u
            service imap-login {
              inet_listener imap {
                address = 127.0.0.1
                port = {{Port}}
              }
              inet_listener imaps {
                port = 0
              }
              chroot =
            }
            service anvil {
              chroot =
            }
            passdb {
              driver = passwd-file
              args = scheme=PLAIN username_format=%u {{_directory}}/users
            }
            userdb {
              driver = static
              args = uid={{mailUser}} gid={{mailUser}} home={{_directory}}/home/%u
            }
            """);
        _process = Process.Start(new ProcessStartInfo(Program, ["-F", "-c", config]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        if (!SmtpSink.WaitUntilListening(Port))
            throw new InvalidOperationException($"Dovecot did not start on port {Port}: {Log()}");
    }

    public int Port { get; }

    public string Log() => File.Exists(Path.Combine(_directory, "dovecot.log")) ? File.ReadAllText(Path.Combine(_directory, "dovecot.log")) : "(no log)";

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { } // already gone
        _process.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
