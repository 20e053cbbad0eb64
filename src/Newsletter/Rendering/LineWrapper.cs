using System.Text;

namespace Newsletter.Rendering;

/// <summary>
/// Breaks long lines at spaces. SMTP allows 998 characters per line; a longer one forces MimeKit
/// to quoted-printable-encode the whole part, so rendered bodies are wrapped once here.
/// </summary>
/// <remarks>
/// Wrapping is decided line by line (no line's wrapping depends on another), which is what lets
/// <see cref="DigestRenderer"/> wrap the shared lines of a digest once and only the personal ones per reader.
/// </remarks>
public static class LineWrapper
{
    /// <summary>HTML: continuation lines start at column 0 (the markup does the layout).</summary>
    public static string Wrap(string text, int width) => Wrap(text, width, hanging: false);

    /// <summary>
    /// Plain text: a wrapped line continues under its own text, past its indentation and a list
    /// marker (<c>12. </c>, <c>- </c>, <c>* </c>), so a long title stays one block under its number
    /// instead of running into column 0 and the next entry.
    /// </summary>
    public static string WrapText(string text, int width) => Wrap(text, width, hanging: true);

    private static string Wrap(string text, int width, bool hanging)
    {
        if (!NeedsWrapping(text, width))
            return text;
        var result = new StringBuilder(text.Length + text.Length / width * 4);
        foreach (var line in text.Split('\n'))
        {
            var rest = line.AsSpan();
            var indent = hanging ? HangingIndent(rest, width) : 0;
            var room = width;
            var lead = indent; // never break inside the indentation or the marker: "1." alone is no line
            while (rest.Length > room)
            {
                var cut = rest[..(room + 1)].LastIndexOf(' ');
                if (cut <= 0 || cut < lead)
                {
                    // No space within the width (e.g. a long URL): break at the next space instead.
                    var next = rest[lead..].IndexOf(' ');
                    if (next < 0) break;
                    cut = lead + next;
                }
                result.Append(rest[..cut].TrimEnd());
                rest = rest[(cut + 1)..];
                if (indent > 0)
                {
                    // Each continuation is indented, with that much less room.
                    rest = rest.TrimStart(' ');
                    room = width - indent;
                    lead = 0;
                }
                if (rest.IsEmpty)
                    break;
                result.Append('\n').Append(' ', indent);
            }
            result.Append(rest).Append('\n');
        }
        result.Length--; // the last line had no newline of its own
        return result.ToString();
    }

    /// <summary>Where a line's text starts: after its leading spaces and a list marker; 0 when that leaves too little room.</summary>
    private static int HangingIndent(ReadOnlySpan<char> line, int width)
    {
        var i = 0;
        while (i < line.Length && line[i] == ' ')
            i++;
        var digits = i;
        while (digits < line.Length && char.IsAsciiDigit(line[digits]))
            digits++;
        if (digits > i && digits + 1 < line.Length && line[digits] is '.' or ')' && line[digits + 1] == ' ')
            i = digits + 2;
        else if (i + 1 < line.Length && line[i] is '-' or '*' && line[i + 1] == ' ')
            i += 2;
        return i <= width / 2 ? i : 0;
    }

    private static bool NeedsWrapping(string text, int width)
    {
        var start = 0;
        while (start < text.Length)
        {
            var end = text.IndexOf('\n', start);
            if (end < 0) end = text.Length;
            if (end - start > width) return true;
            start = end + 1;
        }
        return false;
    }
}
