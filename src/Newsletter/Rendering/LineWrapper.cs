using System.Text;

namespace Newsletter.Rendering;

/// <summary>
/// Breaks long lines at spaces. SMTP allows 998 characters per line; a longer one forces MimeKit
/// to quoted-printable-encode the whole part, so rendered bodies are wrapped once here.
/// </summary>
public static class LineWrapper
{
    public static string Wrap(string text, int width)
    {
        if (!NeedsWrapping(text, width))
            return text;
        var result = new StringBuilder(text.Length + text.Length / width);
        foreach (var line in text.Split('\n'))
        {
            var rest = line.AsSpan();
            while (rest.Length > width)
            {
                var cut = rest[..(width + 1)].LastIndexOf(' ');
                if (cut <= 0)
                {
                    // No space within the width (e.g. a long URL): break at the next space instead.
                    cut = rest.IndexOf(' ');
                    if (cut < 0) break;
                }
                result.Append(rest[..cut].TrimEnd()).Append('\n');
                rest = rest[(cut + 1)..];
            }
            result.Append(rest).Append('\n');
        }
        result.Length--; // the last line had no newline of its own
        return result.ToString();
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
