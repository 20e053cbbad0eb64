using System.Security.Cryptography;
using MimeKit;
using MimeKit.Cryptography;
using Newsletter.Delivery;
using Newsletter.Tests.Support;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Newsletter.Tests.Delivery;

/// <summary>
/// DKIM in process: what goes out verifies with MimeKit's verifier against the public key taken
/// from the record <c>dkim dns</c> prints, and any change to the unsubscribe headers or the body breaks it.
/// </summary>
public sealed class DkimTests : IAsyncLifetime
{
    private readonly TestHost _host = new();

    public async ValueTask InitializeAsync()
    {
        _host.UseSources(("hf", "HuggingFaceDaily", new Uri(Fixtures.PathOf("hf_daily_papers.json")).AbsoluteUri));
        var csv = Path.Combine(_host.Directory, "list.csv");
        await File.WriteAllLinesAsync(csv, ["email", "ada@example.org", "grace@example.org"]);
        await _host.RunAsync("subscribers", "import", csv, "--confirmed");
        await _host.RunAsync("collect");
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private string WriteRsaKey(int bits = 2048)
    {
        using var rsa = RSA.Create(bits);
        var path = Path.Combine(_host.Directory, $"dkim-{bits}.pem");
        File.WriteAllText(path, rsa.ExportRSAPrivateKeyPem());
        return path;
    }

    private string WriteEd25519Key()
    {
        var generator = new Ed25519KeyPairGenerator();
        generator.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
        var pair = generator.GenerateKeyPair();
        var path = Path.Combine(_host.Directory, "dkim-ed25519.pem");
        using (var writer = new StreamWriter(path))
            new Org.BouncyCastle.OpenSsl.PemWriter(writer).WriteObject(new Org.BouncyCastle.OpenSsl.MiscPemGenerator(pair.Private));
        return path;
    }

    private void UseDkim(string keyPath, string domain = "papers.example.org")
    {
        _host.Set("Newsletter:Dkim:Domain", domain);
        _host.Set("Newsletter:Dkim:Selector", "news2026");
        _host.Set("Newsletter:Dkim:PrivateKeyPath", keyPath);
    }

    private async Task<(List<MimeMessage> Mails, DkimVerifier Verifier)> SendSignedAsync()
    {
        var sent = await _host.RunAsync("send-now", "--date", "2025-09-08");
        Assert.True(sent.Exit == 0, sent.ToString());
        var dns = await _host.RunAsync("dkim", "dns");
        Assert.True(dns.Exit == 0, dns.ToString());
        Assert.StartsWith("news2026._domainkey.papers.example.org. IN TXT", dns.Output);
        var mails = Directory.GetFiles(_host.Outbox, "*.eml").Select(f => MimeMessage.Load(f)).ToList();
        Assert.Equal(2, mails.Count);
        var verifier = new DkimVerifier(new RecordLocator(dns.Output));
        verifier.Enable(DkimSignatureAlgorithm.Ed25519Sha256);
        return (mails, verifier);
    }

    private static Header Signature(MimeMessage mail) => mail.Headers.Single(h => h.Id == HeaderId.DkimSignature);

    [Fact]
    public async Task EveryDigestIsSignedAndVerifiesWithThePublishedKey()
    {
        UseDkim(WriteRsaKey());

        var (mails, verifier) = await SendSignedAsync();

        foreach (var mail in mails)
        {
            var signature = Signature(mail).Value;
            Assert.Contains("a=rsa-sha256", signature);
            Assert.Contains("c=relaxed/relaxed", signature);
            Assert.Contains("d=papers.example.org", signature);
            foreach (var header in new[] { "from", "to", "subject", "date", "message-id", "list-id", "list-unsubscribe", "list-unsubscribe-post" })
                Assert.Contains(header, signature.Split("h=")[1].Split(';')[0].Split(':').Select(h => h.Trim()));
            Assert.True(await verifier.VerifyAsync(mail, Signature(mail)), "a digest as sent must verify");
        }
    }

    [Fact]
    public async Task ChangingTheUnsubscribeLinkOrTheBodyBreaksTheSignature()
    {
        UseDkim(WriteRsaKey());
        var (mails, verifier) = await SendSignedAsync();

        var relinked = mails[0];
        relinked.Headers["List-Unsubscribe"] = "<https://evil.example.net/unsubscribe>";
        Assert.False(await verifier.VerifyAsync(relinked, Signature(relinked)));

        var edited = mails[1];
        var text = edited.BodyParts.OfType<TextPart>().First(p => p.IsPlain);
        text.Text += "\nBuy now!\n";
        Assert.False(await verifier.VerifyAsync(edited, Signature(edited)));
    }

    [Fact]
    public async Task AnEd25519KeySignsWithEd25519()
    {
        UseDkim(WriteEd25519Key());

        var (mails, verifier) = await SendSignedAsync();

        Assert.All(mails, mail => Assert.Contains("a=ed25519-sha256", Signature(mail).Value));
        foreach (var mail in mails)
            Assert.True(await verifier.VerifyAsync(mail, Signature(mail)));
    }

    [Fact]
    public async Task TheConfirmationMailIsSignedToo()
    {
        UseDkim(WriteRsaKey());
        var dns = await _host.RunAsync("dkim", "dns"); // builds the host the services below come from
        var builder = _host.Service<DigestMessageBuilder>();
        var factory = _host.Service<TransportFactory>();

        // The confirmation mailer builds its mail so and sends through the same factory.
        var message = builder.Build("Confirm", "<p>Confirm</p>", "Confirm", "new@example.org", "<confirm.1@papers.example.org>", DateTimeOffset.UtcNow);
        await using (var sender = await factory.Create().ConnectAsync(CancellationToken.None))
            await sender.SendAsync(message, CancellationToken.None);

        var mail = MimeMessage.Load(Directory.GetFiles(_host.Outbox, "*.eml").Single());
        Assert.True(await new DkimVerifier(new RecordLocator(dns.Output)).VerifyAsync(mail, Signature(mail)));
    }

    [Fact]
    public async Task AKeyThatCannotBeReadStopsStartUpNamingIt()
    {
        var missing = Path.Combine(_host.Directory, "no-such-key.pem");
        UseDkim(missing);

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(2, result.Exit);
        Assert.Contains($"Newsletter:Dkim:PrivateKeyPath: the DKIM key '{missing}' cannot be used: the file does not exist.", result.Error);
        Assert.Empty(Directory.Exists(_host.Outbox) ? Directory.GetFiles(_host.Outbox) : []);
    }

    [Fact]
    public async Task APublicKeyOrAShortKeyIsRefused()
    {
        using var rsa = RSA.Create(2048);
        var publicOnly = Path.Combine(_host.Directory, "public.pem");
        File.WriteAllText(publicOnly, rsa.ExportSubjectPublicKeyInfoPem());
        UseDkim(publicOnly);
        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");
        Assert.Equal(2, result.Exit);
        Assert.Contains("holds no private key", result.Error);

        UseDkim(WriteRsaKey(512));
        result = await _host.RunAsync("send-now", "--date", "2025-09-08");
        Assert.Equal(2, result.Exit);
        Assert.Contains("512 bits", result.Error);
    }

    [Fact]
    public async Task ADomainThatDoesNotAlignWithFromStopsStartUp()
    {
        UseDkim(WriteRsaKey(), domain: "other.example.net");

        var result = await _host.RunAsync("send-now", "--date", "2025-09-08");

        Assert.Equal(2, result.Exit);
        Assert.Contains("Newsletter:Dkim:Domain 'other.example.net' does not align with Newsletter:From:Address 'digest@papers.example.org'", result.Error);
    }

    [Theory]
    [InlineData("plain digest\r\nsecond line\r\n")]
    [InlineData("  leading, \t inner \t\t runs and trailing \t \r\n\r\n \r\nafter blank lines\r\n\r\n\r\n")]
    [InlineData("no final line end")]
    [InlineData("")]
    public void TheFastRsaPathMakesMimeKitsOwnSignature(string text)
    {
        using var rsa = RSA.Create(2048);
        var key = (RsaPrivateCrtKeyParameters)DkimKeys.Load(WriteKey(rsa));
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2025-09-08T07:00:00Z"));
        var longLine = string.Join(" ", Enumerable.Range(0, 400).Select(i => $"w{i}"));
        MimeMessage Make()
        {
            var message = new MimeMessage([new MailboxAddress("Daily Papers", "digest@papers.example.org")], [new MailboxAddress("", "ada@example.org")],
                "Daily papers \u00e9 \u2014 8 September", new MultipartAlternative
                {
                    new TextPart("plain") { Text = text, ContentTransferEncoding = ContentEncoding.EightBit },
                    new TextPart("html") { Text = $"<p>{text}</p>\n<p>{longLine}</p>" },
                });
            message.MessageId = "digest.20250908.abc@papers.example.org";
            message.Date = time.GetUtcNow();
            message.Headers.Add("List-Unsubscribe", "<https://papers.example.org/unsubscribe?token=" + new string('x', 120) + ">");
            message.Headers.Add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
            message.Prepare(EncodingConstraint.EightBit);
            return message;
        }
        var ours = Make();
        var theirs = MimeMessage.Load(new MemoryStream(Encoding(ours)));
        ours = MimeMessage.Load(new MemoryStream(Encoding(ours)));

        new DkimRelaxed("papers.example.org", "news2026", DkimSigning.SignedHeaders, time, () => PlatformRsa(key)).Sign(ours);
        DkimSigning.MimeKitSigner(key, "papers.example.org", "news2026", time).Sign(theirs, DkimSigning.SignedHeaders);

        string Tag(MimeMessage m, string tag) => Signature(m).Value.Replace(" ", "").Replace("\t", "").Split(';').Single(t => t.Trim().StartsWith(tag + "=", StringComparison.Ordinal));
        Assert.Equal(Tag(theirs, "bh"), Tag(ours, "bh"));
        Assert.Equal(Signature(theirs).Value.Split("b=")[0], Signature(ours).Value.Split("b=")[0]);
        Assert.Equal(Tag(theirs, "b"), Tag(ours, "b"));
    }

    /// <summary>
    /// The runs a digest's readers share are canonicalized once and reused (DkimRelaxed): every reader's signature,
    /// before and after the reuse starts, is still the one MimeKit's signer makes over the bytes that go out, whatever
    /// a shared run ends with (spaces, blank lines, a CR) or starts with (a space, a line feed: scanned as before).
    /// </summary>
    [Theory]
    [InlineData("ends in spaces \t ", "\t personal link\r\n", "starts with a word\r\n\r\n\r\n")]
    [InlineData("ends in blank lines\r\n\r\n", "x", " starts with a space\r\n")]
    [InlineData("ends in a CR\r", "\nlink\r\n", "ends in blank lines at the very end\r\n\r\n")]
    [InlineData("plain\r\n", "", "\r\nstarts with a line end \r\n")]
    public void SharedRunsAreCanonicalizedOnceAndSignAsMimeKitDoes(string firstEnd, string personal, string second)
    {
        using var rsa = RSA.Create(2048);
        var key = (RsaPrivateCrtKeyParameters)DkimKeys.Load(WriteKey(rsa));
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2025-09-08T07:00:00Z"));
        var words = string.Concat(Enumerable.Range(0, 120).Select(i => $"Word{i}  and\tmore \r\n"));
        // Shared runs: the same arrays in every reader's body, each long enough to be kept. Together with the
        // reader's own run between them they are wire-ready (CRLF line ends only), as WireBody's runs are.
        var shared = new[] { System.Text.Encoding.UTF8.GetBytes(words + firstEnd), System.Text.Encoding.UTF8.GetBytes(second + words + second) };
        var builder = new DigestMessageBuilder(Microsoft.Extensions.Options.Options.Create(new Newsletter.Configuration.NewsletterOptions()));
        var signer = new DkimRelaxed("localhost", "news2026", DkimSigning.SignedHeaders, time, () => PlatformRsa(key));
        var dos = new FormatOptions { NewLineFormat = NewLineFormat.Dos };
        for (var reader = 1; reader <= 4; reader++)
        {
            Newsletter.Model.WireBody Body(string own) => new([shared[0], System.Text.Encoding.UTF8.GetBytes(own), shared[1]], 200);
            var digest = new Newsletter.Model.WireDigest("Daily papers", Body($"{personal}<a href=\"u{reader}\">unsubscribe</a>"), Body(personal + reader));
            var ours = builder.Build(digest, $"reader{reader}@example.org", $"<d{reader}@localhost>", $"https://localhost/u/{reader}", time.GetUtcNow());
            using var written = new MemoryStream();
            ours.WriteTo(dos, written);
            var theirs = MimeMessage.Load(new MemoryStream(written.ToArray()));

            signer.Sign(ours);
            DkimSigning.MimeKitSigner(key, "localhost", "news2026", time).Sign(theirs, DkimSigning.SignedHeaders);

            Assert.Equal(Signature(theirs).Value.Replace(" ", "").Replace("\t", ""), Signature(ours).Value.Replace(" ", "").Replace("\t", ""));
            // What is signed is what goes out: the signed message written again is the same bytes.
            using var again = new MemoryStream();
            ours.Headers.RemoveAll(HeaderId.DkimSignature);
            ours.WriteTo(dos, again);
            Assert.Equal(written.ToArray(), again.ToArray());
        }
    }

    private static byte[] Encoding(MimeMessage message)
    {
        using var stream = new MemoryStream();
        message.WriteTo(stream);
        return stream.ToArray();
    }

    private string WriteKey(RSA rsa)
    {
        var path = Path.Combine(_host.Directory, $"key-{Guid.NewGuid():N}.pem");
        File.WriteAllText(path, rsa.ExportRSAPrivateKeyPem());
        return path;
    }

    private static RSA PlatformRsa(RsaPrivateCrtKeyParameters key)
    {
        var rsa = RSA.Create();
        rsa.ImportParameters(DotNetUtilities.ToRSAParameters(key));
        return rsa;
    }

    [Theory]
    [InlineData("example.org", "news.example.org", true)]
    [InlineData("news.example.org", "example.org", true)]
    [InlineData("Example.ORG", "example.org", true)]
    [InlineData("org", "example.org", false)]
    [InlineData("badexample.org", "example.org", false)]
    [InlineData("example.net", "example.org", false)]
    public void AlignmentIsRelaxedButNeverABareSuffix(string signing, string from, bool aligned) =>
        Assert.Equal(aligned, DkimAlignment.Aligned(signing, from));

    /// <summary>The public key from the TXT record text <c>dkim dns</c> printed, as a resolver would return it.</summary>
    private sealed class RecordLocator(string record) : DkimPublicKeyLocatorBase
    {
        private AsymmetricKeyParameter Key()
        {
            var value = string.Concat(record.Split('"').Where((_, i) => i % 2 == 1));
            return GetPublicKey(value);
        }

        public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default)
        {
            Assert.Equal(("papers.example.org", "news2026"), (domain, selector));
            return Key();
        }

        public override Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
            Task.FromResult(LocatePublicKey(methods, domain, selector, cancellationToken));
    }
}
