using System.Globalization;
using MimeKit;

namespace Newsletter.Subscriptions;

/// <summary>
/// A validated subscriber address: the local part as given, the domain lower-cased and in punycode.
/// <see cref="Key"/> is what duplicates and throttling go by: the whole address case-folded, as
/// every large mail provider treats local parts (so Ada@, ADA@ and ada@ are one reader, and 64
/// spellings of one mailbox are not 64 confirmation mails).
/// </summary>
public sealed partial record EmailAddress(string Address, string Key)
{
    private static readonly IdnMapping Idn = new();

    /// <summary>
    /// Accepts exactly one bare address (no display name, no list), as MimeKit parses it, with the
    /// limits of RFC 5321: at most 254 characters, a local part of at most 64. The domain is
    /// compared case-insensitively; the local part is kept as given (it is case-sensitive in theory).
    /// </summary>
    public static bool TryParse(string? input, out EmailAddress? address, out string error, bool allowUnicodeLocalPart = false)
    {
        address = null;
        var value = input?.Trim() ?? "";
        if (value.Length == 0) { error = "Enter an email address."; return false; }
        if (value.Any(char.IsControl)) { error = "The address contains control characters."; return false; }
        // RFC 5322 comments ("+SUM(1)@x") parse, and MimeKit drops them: the address would be
        // silently rewritten into another one. Refused instead.
        if (HasComment(value)) { error = "The address contains parentheses (a comment); enter the address alone."; return false; }
        // A list ("a@x, b@y") or a display name ("Ada <a@x>") parses as something else than one bare mailbox.
        if (!InternetAddressList.TryParse(ParserOptions.Default, value, out var parsed) || parsed.Count != 1
            || parsed[0] is not MailboxAddress mailbox || !string.IsNullOrEmpty(mailbox.Name) || mailbox.Route.Count > 0 || value.Contains('<'))
        { error = "Enter a single bare address, such as name@example.org."; return false; }

        var at = mailbox.Address.LastIndexOf('@');
        if (at <= 0 || at == mailbox.Address.Length - 1) { error = "The address needs a part before and after '@'."; return false; }
        var local = mailbox.Address[..at];
        var domain = mailbox.Address[(at + 1)..].TrimEnd('.');
        if (!allowUnicodeLocalPart && local.Any(c => c > 127)) { error = "Addresses with non-ASCII characters before '@' are not accepted."; return false; }
        if (!domain.Contains('.') && domain != "localhost") { error = "The domain of the address is incomplete."; return false; }
        string asciiDomain;
        try { asciiDomain = Idn.GetAscii(domain).ToLowerInvariant(); }
        catch (ArgumentException) { error = "The domain of the address is not valid."; return false; }
        if (local.Length > 64) { error = "The part before '@' is longer than 64 characters."; return false; }
        var normalised = local + "@" + asciiDomain;
        if (normalised.Length > 254) { error = "The address is longer than 254 characters."; return false; }

        address = new EmailAddress(normalised, CanonicalLocalPart(local).ToLowerInvariant() + "@" + asciiDomain);
        error = "";
        return true;
    }

    // RFC 5322 dot-atom: what a local part is when it needs no quotes.
    [System.Text.RegularExpressions.GeneratedRegex(@"^[^\s""(),.:;<>@\[\\\]\p{Cc}]+(\.[^\s""(),.:;<>@\[\\\]\p{Cc}]+)*$")]
    private static partial System.Text.RegularExpressions.Regex DotAtom();

    /// <summary>
    /// One spelling per mailbox: <c>"victim"</c>, <c>"v\ictim"</c> and <c>victim</c> are the same
    /// local part (RFC 5322 3.2.4), so the quotes and quoted-pair escapes go; quotes stay only
    /// where the local part needs them, with only <c>\</c> and <c>"</c> escaped.
    /// </summary>
    private static string CanonicalLocalPart(string local)
    {
        if (local.Length < 2 || local[0] != '"' || local[^1] != '"')
            return local;
        var inner = new System.Text.StringBuilder();
        for (var i = 1; i < local.Length - 1; i++)
        {
            if (local[i] == '\\' && i + 1 < local.Length - 1)
                i++;
            inner.Append(local[i]);
        }
        var text = inner.ToString();
        return DotAtom().IsMatch(text) ? text : "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
    }

    /// <summary>A parenthesis outside a quoted string: an RFC 5322 comment.</summary>
    private static bool HasComment(string value)
    {
        var quoted = false;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (quoted && c == '\\') { i++; continue; }
            if (c == '"') quoted = !quoted;
            else if (!quoted && c is '(' or ')') return true;
        }
        return false;
    }
}
