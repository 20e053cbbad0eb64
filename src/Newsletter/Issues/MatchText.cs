using System.Text;

namespace Newsletter.Issues;

/// <summary>
/// The one form in which a reader's keywords, exclusions and followed authors and a paper's title,
/// abstract and authors are compared, so that what a reader types matches however a feed wrote it:
/// <list type="bullet">
/// <item>Unicode compatibility normalisation (NFKC, which includes NFC): "é" written as one character or as
/// "e" and a combining accent is one letter; "ﬁ" is "fi", a full-width "Ａ" is "A", a no-break space a space;</item>
/// <item>accents on Latin letters are dropped (é, è, ê, ë → e; ñ → n; ç → c; ő → o), and so are the Latin
/// letters that have no decomposition: ß → ss, æ → ae, œ → oe, ø → o, ł → l, đ and ð → d, þ → th, ı → i;
/// marks of other scripts (Greek, Cyrillic, Devanagari...) are kept, compared in their composed form;</item>
/// <item>case folded (upper then lower case, so σ and ς, s and ſ, µ and μ are one).</item>
/// </list>
/// Nothing else is folded: punctuation, word order and initials count ("J. Alvarez" is not "José Alvarez").
/// </summary>
public static class MatchText
{
    /// <summary>The text as it is compared; plain ASCII (most feed text) only lowercased, without a copy when it already is.</summary>
    public static string Fold(string text)
    {
        if (Ascii.IsValid(text))
            return text.ToLowerInvariant();
        string decomposed;
        try
        {
            decomposed = text.Normalize(NormalizationForm.FormKD);
        }
        catch (ArgumentException)
        {
            return text.ToUpperInvariant().ToLowerInvariant(); // a lone surrogate has no normal form: case only
        }
        var folded = new StringBuilder(decomposed.Length);
        var latinBase = false;
        foreach (var c in decomposed)
        {
            // Combining Diacritical Marks after a Latin letter: the accents readers leave out when they type.
            if (c is >= '\u0300' and <= '\u036F')
            {
                if (!latinBase)
                    folded.Append(c);
                continue;
            }
            latinBase = c <= '\u024F' && char.IsLetter(c);
            switch (c)
            {
                case 'ß' or 'ẞ': folded.Append("ss"); break;
                case 'æ' or 'Æ': folded.Append("ae"); break;
                case 'œ' or 'Œ': folded.Append("oe"); break;
                case 'ø' or 'Ø': folded.Append('o'); break;
                case 'ł' or 'Ł': folded.Append('l'); break;
                case 'đ' or 'Đ' or 'ð' or 'Ð': folded.Append('d'); break;
                case 'þ' or 'Þ': folded.Append("th"); break;
                case 'ı': folded.Append('i'); break;
                default: folded.Append(c); break;
            }
        }
        return folded.ToString().Normalize(NormalizationForm.FormC).ToUpperInvariant().ToLowerInvariant();
    }

    /// <summary>A person's name as compared: folded, with any run of spaces one space.</summary>
    public static string Name(string name) =>
        string.Join(' ', Fold(name).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    /// <summary>The words of a keyword or phrase as compared.</summary>
    public static string[] Words(string term) =>
        Fold(term).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
}
