using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;

namespace Newsletter.Subscriptions;

/// <summary>
/// Reads the subscribe and preferences forms so that they reach the same checks as their JSON twins.
/// </summary>
/// <remarks>
/// ASP.NET's form reader refuses a whole urlencoded body with one NUL (<c>%00</c>) in any value,
/// before anyone knows which field held it, so the visitor would get "The form is malformed" where
/// the JSON endpoint names the field. Here such a body is read again from its buffered copy, with the
/// same size and count limits, and handed on with the NUL in place: the field's own check then
/// refuses it in the words the JSON endpoint uses. Every other fault (too many fields, a key too
/// long) stays the reader's refusal.
/// </remarks>
internal static class PreferenceFormReader
{
    public static async Task<IFormCollection> ReadAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var request = http.Request;
        var urlencoded = request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) == true;
        if (urlencoded)
            request.EnableBuffering();
        try
        {
            return await request.ReadFormAsync(cancellationToken);
        }
        catch (InvalidDataException invalid) when (urlencoded && invalid.InnerException is InvalidOperationException)
        {
            request.Body.Position = 0;
            using var reader = new StreamReader(request.Body, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
            var form = Parse(await reader.ReadToEndAsync(cancellationToken), http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<FormOptions>>().Value);
            // Antiforgery and the endpoint read the form through this feature from now on.
            http.Features.Set<IFormFeature>(new FormFeature(form));
            return form;
        }
    }

    private static FormCollection Parse(string body, FormOptions limits)
    {
        var fields = new KeyValueAccumulator();
        foreach (var pair in body.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=');
            var key = Decode(equals < 0 ? pair : pair[..equals]);
            if (key.Length > limits.KeyLengthLimit)
                throw new InvalidDataException($"Form key length limit {limits.KeyLengthLimit} exceeded.");
            fields.Append(key, equals < 0 ? "" : Decode(pair[(equals + 1)..]));
            if (fields.ValueCount > limits.ValueCountLimit)
                throw new InvalidDataException($"Form value count limit {limits.ValueCountLimit} exceeded.");
        }
        return new FormCollection(fields.GetResults());
    }

    private static string Decode(string text) => Uri.UnescapeDataString(text.Replace('+', ' '));
}
