using System.Buffers;
using Newsletter.Model;

namespace Newsletter.Rendering;

/// <summary>
/// Rendered UTF-8 text made wire-ready, as MimeKit writes an 8-bit text part: every LF not already
/// after a CR becomes CRLF (MimeKit's Unix2Dos filter), and a stray control byte (a NUL from a
/// feed: a strict relay refuses it) becomes a space. <see cref="DigestRenderer"/> does this once per
/// digest for the runs every reader shares and per reader only for their own lines.
/// </summary>
public static class WireText
{
    // C0 controls other than tab, LF and CR, and DEL.
    private static readonly SearchValues<byte> Special = SearchValues.Create(
        [.. Enumerable.Range(0, 32).Where(b => b is not ('\t' or '\r')).Select(b => (byte)b), (byte)0x7F]);

    /// <summary>The wire form of <paramref name="text"/>, followed by a line end when <paramref name="newLine"/>.</summary>
    public static byte[] ToWire(ReadOnlySpan<byte> text, bool newLine)
    {
        // Each LF may gain a CR: at most one byte per LF, and two for the line end.
        var lines = text.Count((byte)'\n');
        var result = new byte[text.Length + lines + (newLine ? 2 : 0)];
        var at = 0;
        var previous = (byte)0;
        while (true)
        {
            var next = text.IndexOfAny(Special);
            var run = next < 0 ? text : text[..next];
            run.CopyTo(result.AsSpan(at));
            at += run.Length;
            if (run.Length > 0)
                previous = run[^1];
            if (next < 0)
                break;
            var special = text[next];
            if (special == (byte)'\n')
            {
                if (previous != (byte)'\r')
                    result[at++] = (byte)'\r';
                result[at++] = (byte)'\n';
            }
            else
            {
                result[at++] = (byte)' ';
            }
            previous = result[at - 1];
            text = text[(next + 1)..];
        }
        if (newLine)
        {
            if (previous != (byte)'\r')
                result[at++] = (byte)'\r';
            result[at++] = (byte)'\n';
        }
        return at == result.Length ? result : result[..at];
    }


    /// <summary>A whole body rendered for one reader (the full-render path), as one run.</summary>
    public static WireBody Body(ReadOnlySpan<byte> utf8)
    {
        var wire = ToWire(utf8, newLine: false);
        return new WireBody([wire], MailLines.LongestLine(wire));
    }
}
