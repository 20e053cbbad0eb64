namespace Newsletter.Model;

/// <summary>
/// Who a digest is rendered for, with their personal signed links; <see cref="Feedback"/> gives each paper's
/// "more like this" / "less like this" links by entry id (null: no feedback links, e.g. a test send to a stranger).
/// </summary>
public sealed record DigestRecipient(string Email, string UnsubscribeUrl, string PreferencesUrl, Func<long, bool, string>? Feedback = null);

public sealed record RenderedDigest(string Subject, string Html, string Text);

/// <summary>A rendered digest with its bodies already UTF-8 encoded (the delivery path).</summary>
public sealed record EncodedDigest(string Subject, byte[] Html, byte[] Text);

/// <summary>A rendered digest whose bodies are wire-ready: UTF-8, CRLF line ends, no stray control bytes.</summary>
public sealed record WireDigest(string Subject, WireBody Html, WireBody Text);

/// <summary>
/// A body as the runs of bytes it is made of, each already in its wire form (CRLF, 8-bit): the runs
/// every reader of a digest shares are converted once, only the reader's own lines per message;
/// writing the body is then copying the runs out, with nothing joined or converted per byte.
/// </summary>
public sealed class WireBody(IReadOnlyList<ReadOnlyMemory<byte>> runs, int longestLine)
{
    public IReadOnlyList<ReadOnlyMemory<byte>> Runs { get; } = runs;

    /// <summary>The longest line in octets, without its CRLF (past 998 a part must be quoted-printable).</summary>
    public int LongestLine { get; } = longestLine;

    public int Length { get; } = runs.Sum(r => r.Length);

    /// <summary>The body in one array.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        var at = 0;
        foreach (var run in Runs)
        {
            run.Span.CopyTo(bytes.AsSpan(at));
            at += run.Length;
        }
        return bytes;
    }
}
