using System.Security.Cryptography;
using MimeKit;
using MimeKit.Cryptography;
using Newsletter.Tests.Support;

namespace Newsletter.Tests.Delivery;

/// <summary>
/// The DKIM key as a secret (<c>Dkim:PrivateKey</c>, PEM text from the file <c>Newsletter__Dkim__PrivateKey</c>
/// in the secrets folder) instead of <c>Dkim:PrivateKeyPath</c>: what goes out verifies with MimeKit's verifier
/// against the record <c>dkim dns</c> prints; both at once, or a PEM that is no key, stop start-up with one
/// sentence that names the key and never shows its text.
/// </summary>
public sealed class DkimSecretKeyTests : IAsyncLifetime
{
    private readonly TestHost _host = new();

    public async ValueTask InitializeAsync()
    {
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        var csv = Path.Combine(_host.Directory, "list.csv");
        await File.WriteAllLinesAsync(csv, ["email", "ada@example.org", "grace@example.org"]);
        await _host.RunAsync("subscribers", "import", csv, "--confirmed");
        await _host.RunAsync("collect");
        _host.Set("Newsletter:Dkim:Domain", "papers.example.org");
        _host.Set("Newsletter:Dkim:Selector", "news2026");
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    /// <summary>The secrets folder, named where an operator names it (appsettings.json), holding the key as its only file.</summary>
    private void SecretKey(string pem)
    {
        var folder = Path.Combine(_host.Directory, "secrets");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "Newsletter__Dkim__PrivateKey"), pem);
        File.WriteAllText(Path.Combine(_host.Directory, "appsettings.json"),
            System.Text.Json.JsonSerializer.Serialize(new { Newsletter = new { SecretsPath = folder } }));
    }

    private static Header Signature(MimeMessage mail) => mail.Headers.Single(h => h.Id == HeaderId.DkimSignature);

    [Fact]
    public async Task AKeyFromTheSecretsFolderSignsEveryDigest()
    {
        using var rsa = RSA.Create(2048);
        SecretKey(rsa.ExportPkcs8PrivateKeyPem() + "\n");

        var sent = await _host.RunAsync("send-now", "--date", "2025-09-08");
        var dns = await _host.RunAsync("dkim", "dns");

        Assert.True(sent.Exit == 0, sent.ToString());
        Assert.True(dns.Exit == 0, dns.ToString());
        // The record publishes this very key.
        Assert.Contains(Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo())[..60], dns.Output.Replace("\" \"", ""));
        var mails = Directory.GetFiles(_host.Outbox, "*.eml").Select(f => MimeMessage.Load(f)).ToList();
        Assert.Equal(2, mails.Count);
        var verifier = new DkimVerifier(new RecordLocator(dns.Output));
        foreach (var mail in mails)
        {
            Assert.Contains("a=rsa-sha256", Signature(mail).Value);
            Assert.True(await verifier.VerifyAsync(mail, Signature(mail)), "a digest signed with the secret key must verify");
        }
        var edited = mails[0];
        edited.Headers["List-Unsubscribe"] = "<https://evil.example.net/unsubscribe>";
        Assert.False(await verifier.VerifyAsync(edited, Signature(edited)));
    }

    [Fact]
    public async Task AKeyGivenBothWaysIsOneSentence()
    {
        using var rsa = RSA.Create(2048);
        var path = Path.Combine(_host.Directory, "dkim.pem");
        File.WriteAllText(path, rsa.ExportRSAPrivateKeyPem());
        _host.Set("Newsletter:Dkim:PrivateKeyPath", path);
        SecretKey(rsa.ExportRSAPrivateKeyPem());

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(2, result.Exit);
        Assert.Contains("Newsletter:Dkim:PrivateKeyPath and Newsletter:Dkim:PrivateKey are both set; give the DKIM key one way only", result.Error);
        Assert.Empty(Directory.Exists(_host.Outbox) ? Directory.GetFiles(_host.Outbox) : []);
    }

    [Theory]
    [InlineData("not a key at all, but a secret-looking value 12345")]
    [InlineData("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n")]
    [InlineData("-----BEGIN RSA PRIVATE KEY-----\nbm90IGJhc2U2NCBrZXkgbWF0ZXJpYWw=\n-----END RSA PRIVATE KEY-----\n")]
    public async Task ABadPemNamesTheKeyAndNotItsText(string pem)
    {
        SecretKey(pem);

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(2, result.Exit);
        Assert.Contains("Newsletter:Dkim:PrivateKey: the DKIM key given as PEM text", result.Error);
        Assert.DoesNotContain("12345", result.Error);
        Assert.DoesNotContain("bm90IGJhc2U2", result.Error);
        Assert.Empty(Directory.Exists(_host.Outbox) ? Directory.GetFiles(_host.Outbox) : []);
    }

    private sealed class RecordLocator(string record) : DkimPublicKeyLocatorBase
    {
        public override Org.BouncyCastle.Crypto.AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default)
        {
            Assert.Equal(("papers.example.org", "news2026"), (domain, selector));
            return GetPublicKey(string.Concat(record.Split('"').Where((_, i) => i % 2 == 1)));
        }

        public override Task<Org.BouncyCastle.Crypto.AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            Task.FromResult(LocatePublicKey(methods, domain, selector, cancellationToken));
    }
}
