using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Newsletter.Rendering;

/// <summary>One rendered mail body for the lint, named by the template it came from.</summary>
public sealed record LintSample(string Name, string Html);

/// <summary>What the lint found: <see cref="Lines"/> to print, and whether it could run at all.</summary>
public sealed record LintResult(LintOutcome Outcome, IReadOnlyList<string> Lines);

public enum LintOutcome
{
    Clean,
    Findings,
    /// <summary>Node.js or the npm packages are missing: the one line says how to get them.</summary>
    ToolsMissing,
}

/// <summary>
/// <c>templates check --lint</c>: the rendered sample mails, checked by the Node script
/// <c>lint/mail-lint.cjs</c> (embedded here) against caniemail's data for Gmail, Outlook, Apple Mail
/// and Yahoo and against html-validate's accessibility rules. Node and two npm packages are an
/// operator's choice, not a dependency of the service, so their absence is reported in one line.
/// </summary>
public static class TemplateLint
{
    /// <summary>Accepted findings, one per line with its reason, beside the templates.</summary>
    public const string ExceptionsFile = "lint-exceptions.txt";

    /// <summary>Where <c>npm ci --prefix lint</c> (run from the repository root) puts the packages.</summary>
    public const string DefaultModules = "lint/node_modules";

    public const string HowToGetTheTools =
        "needs Node.js 20+ (`apt-get install nodejs npm`) and the packages of lint/package.json: run `npm ci --prefix lint` in the repository root, or pass --lint-modules DIR naming a node_modules folder holding @jsx-email/doiuse-email 1.0.4 and html-validate 10.17";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static async Task<LintResult> RunAsync(IReadOnlyList<LintSample> samples, string modules, string exceptionsPath, string exceptionsName, CancellationToken cancellationToken)
    {
        modules = Path.GetFullPath(modules);
        if (!File.Exists(Path.Combine(modules, "@jsx-email", "doiuse-email", "package.json")) || !File.Exists(Path.Combine(modules, "html-validate", "package.json")))
            return Missing($"its npm packages are not in {modules}");

        var start = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add("--eval");
        start.ArgumentList.Add(Script());
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception("node did not start");
        }
        catch (Win32Exception)
        {
            return Missing("Node.js (`node`) is not on PATH");
        }
        using (process)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            try
            {
                var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
                var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
                try
                {
                    await process.StandardInput.WriteAsync(Input(samples, modules, exceptionsPath, exceptionsName).AsMemory(), timeout.Token);
                    process.StandardInput.Close();
                }
                catch (IOException)
                {
                    // The script stopped before reading (a package it could not load): its exit code says why.
                }
                await process.WaitForExitAsync(timeout.Token);
                var lines = Lines(await stdout);
                return process.ExitCode switch
                {
                    0 => new LintResult(LintOutcome.Clean, lines),
                    1 => new LintResult(LintOutcome.Findings, lines),
                    3 => Missing(Lines(await stderr).FirstOrDefault() ?? "its npm packages are missing"),
                    _ => new LintResult(LintOutcome.Findings, [.. lines, .. Lines(await stderr).Take(1).Select(line => $"The mail lint failed: {line}")]),
                };
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                return new LintResult(LintOutcome.Findings, [$"The mail lint did not finish within {Timeout.TotalSeconds:0} seconds."]);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
        }
    }

    private static LintResult Missing(string what) => new(LintOutcome.ToolsMissing, [$"Mail lint not run: {what}; it {HowToGetTheTools}."]);

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The script's input, as JSON on its stdin (the samples are far too large for arguments).</summary>
    private static string Input(IReadOnlyList<LintSample> samples, string modules, string exceptionsPath, string exceptionsName)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("modules", modules);
            json.WriteString("exceptionsName", exceptionsName);
            json.WriteString("exceptionsText", File.Exists(exceptionsPath) ? File.ReadAllText(exceptionsPath) : "");
            json.WriteStartArray("samples");
            foreach (var sample in samples)
            {
                json.WriteStartObject();
                json.WriteString("name", sample.Name);
                json.WriteString("html", sample.Html);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string Script()
    {
        using var stream = typeof(TemplateLint).Assembly.GetManifestResourceStream("Newsletter.Rendering.mail-lint.cjs")
            ?? throw new InvalidOperationException("The mail lint script is not embedded in this build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
