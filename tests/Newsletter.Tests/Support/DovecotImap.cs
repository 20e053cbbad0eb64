using System.Diagnostics;

namespace Newsletter.Tests.Support;

/// <summary>
/// Debian's Dovecot IMAP server as the tests' own instance: a generated configuration in a temp
/// folder, a free 127.0.0.1 port, one passwd-file user, maildir storage; stopped on dispose.
/// Skips (or fails under <see cref="SystemPrograms.RequireSwitch"/>) naming <c>dovecot-imapd</c> when missing.
/// With <c>pop3</c> it serves the same mailbox over POP3 too (<see cref="Pop3Port"/>), when Debian's
/// <c>dovecot-pop3d</c> is installed (<see cref="RequirePop3"/> skips naming it otherwise).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DovecotImap : IDisposable
{
    public const string User = "bounces";
    public const string Password = "bounce-secret";
    private readonly Process _process;
    private readonly string _directory;

    public static string Program => Path.Combine(Environment.GetEnvironmentVariable(SystemPrograms.ProgramsFolderVariable) is { Length: > 0 } folder ? folder : "/usr/sbin", "dovecot");

    public static bool Pop3Installed => File.Exists("/usr/lib/dovecot/pop3");

    public DovecotImap(bool pop3 = false)
    {
        SystemPrograms.Require(File.Exists(Program) && File.Exists("/usr/lib/dovecot/imap"),
            $"Dovecot's IMAP server is not at {Program}: install it with `apt-get install dovecot-imapd` (the tests start their own instance; the system one is never used)");
        _directory = Path.Combine(Path.GetTempPath(), "newsletter-dovecot", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        Port = SmtpSink.FreePort();
        if (pop3 && Pop3Installed)
            Pop3Port = SmtpSink.FreePort();
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
            protocols = imap{{(Pop3Port is null ? "" : " pop3")}}
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
            {{(Pop3Port is null ? "" : $$$"""
            service pop3-login {
              inet_listener pop3 {
                address = 127.0.0.1
                port = {{{Pop3Port}}}
              }
              inet_listener pop3s {
                port = 0
              }
              chroot =
            }
            """)}}
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
        if (Pop3Port is { } pop3Port && !SmtpSink.WaitUntilListening(pop3Port))
            throw new InvalidOperationException($"Dovecot did not serve POP3 on port {pop3Port}: {Log()}");
    }

    public int Port { get; }

    /// <summary>The POP3 port of the same mailbox; null when not asked for or not installed.</summary>
    public int? Pop3Port { get; }

    /// <summary>Skips (or fails under the switch) naming the package when this instance serves no POP3.</summary>
    public void RequirePop3() =>
        SystemPrograms.Require(Pop3Port is not null,
            "Dovecot's POP3 server is not at /usr/lib/dovecot/pop3: install it with `apt-get install dovecot-pop3d` (the tests start their own instance)");

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
