using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging.Console;

namespace Newsletter.Hosting;

/// <summary>
/// How the host meets the machine it runs on: secrets read from files, and systemd's service protocol.
/// </summary>
public static class ServiceHosting
{
    /// <summary>systemd's folder of the unit's <c>LoadCredential=</c> files, set for the service's process.</summary>
    public const string CredentialsDirectoryVariable = "CREDENTIALS_DIRECTORY";

    public const string NotifySocketVariable = "NOTIFY_SOCKET";

    /// <summary>
    /// Secrets as files, one per key, named as the environment names it (<c>Newsletter__Smtp__Password</c>):
    /// from <c>Newsletter:SecretsPath</c> (a folder the operator keeps, e.g. mode 0700) and from systemd's
    /// <c>$CREDENTIALS_DIRECTORY</c>. Added last, so a secret file wins over appsettings.json, the environment and
    /// the command line: no password needs to sit in any of them. (In Development, user-secrets come with the
    /// default builder.) A missing folder is no error: it is optional.
    /// </summary>
    public static WebApplicationBuilder AddSecretFiles(this WebApplicationBuilder builder)
    {
        foreach (var folder in new[] { builder.Configuration["Newsletter:SecretsPath"], Environment.GetEnvironmentVariable(CredentialsDirectoryVariable) })
        {
            if (string.IsNullOrWhiteSpace(folder))
                continue;
            var path = Path.GetFullPath(folder);
            builder.Configuration.AddKeyPerFile(source =>
            {
                source.FileProvider = Directory.Exists(path) ? new Microsoft.Extensions.FileProviders.PhysicalFileProvider(path) : null;
                source.Optional = true;
                // Editors and tools leave these beside the real files.
                source.IgnoreCondition = name => name.StartsWith('.') || name.EndsWith('~');
            });
        }
        return builder;
    }

    /// <summary>
    /// The service under systemd (<c>Type=notify</c>): <c>READY=1</c> once the web front listens (the host's
    /// ApplicationStarted, which follows Kestrel's start) and <c>STOPPING=1</c> when SIGTERM begins the graceful
    /// stop, through systemd's own lifetime (<see cref="SystemdLifetime"/>). <c>UseSystemd()</c> turns this on only
    /// when the parent process is systemd; here <c>NOTIFY_SOCKET</c> is enough too, since any supervisor that sets
    /// it speaks the protocol (podman's <c>--sdnotify</c>, a test). Logs then use systemd's console format
    /// (<c>&lt;6&gt;</c> priority prefixes for journald) unless <c>Logging:Console:FormatterName</c> chose one (<c>json</c>).
    /// </summary>
    public static WebApplicationBuilder AddSystemdService(this WebApplicationBuilder builder)
    {
        if (!SystemdHelpers.IsSystemdService() && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(NotifySocketVariable)))
            return builder;
        builder.Services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
        builder.Services.AddSingleton<IHostLifetime, SystemdLifetime>();
        if (string.IsNullOrEmpty(builder.Configuration["Logging:Console:FormatterName"]))
            builder.Services.Configure<ConsoleLoggerOptions>(options => options.FormatterName = ConsoleFormatterNames.Systemd);
        return builder;
    }
}
