namespace Newsletter.Cli;

/// <summary>The exit codes of every verb (README, section Commands).</summary>
internal static class ExitCodes
{
    /// <summary>The work was done.</summary>
    public const int Success = 0;

    /// <summary>The verb ran but failed: every source failed, a run-level delivery failure, template errors, a send failed, bad input data.</summary>
    public const int Failed = 1;

    /// <summary>An unknown verb or option, a missing or malformed argument.</summary>
    public const int Usage = CommandLineErrors.UsageExitCode;

    /// <summary>The configuration is invalid; every problem is printed with its key. Nothing was started.</summary>
    public const int InvalidConfiguration = 2;
}
