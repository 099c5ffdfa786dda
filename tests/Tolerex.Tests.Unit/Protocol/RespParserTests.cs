using System.Buffers;
using System.Text;
using Tolerex.Protocol.Resp;

namespace Tolerex.Tests.Unit.Protocol;

public class RespParserTests
{
    private static readonly RespLimits Limits = new(MaxBulkBytes: 1024 * 1024, MaxArguments: 1024, MaxInlineBytes: 64 * 1024);

    /// <summary>A parsed request, copied out of the buffer (the request only holds views of it).</summary>
    private sealed record Parsed(RespCommandKind Kind, string Name, string[] Args);

    private static string Latin1(ReadOnlySequence<byte> bytes) => Encoding.Latin1.GetString(bytes.ToArray());

    private static Parsed Copy(RespRequest r) =>
        new(r.Kind, Latin1(r.Name), [.. Enumerable.Range(0, r.ArgumentCount).Select(i => Latin1(r.Argument(i)))]);

    /// <summary>Parses until the buffer needs more or a request is invalid; returns what was parsed and how it ended.</summary>
    private static (List<Parsed> Requests, RespParseResult Last, RespError Error, ReadOnlySequence<byte> Remaining) ParseAll(
        ReadOnlySequence<byte> input, RespLimits? limits = null)
    {
        var request = new RespRequest();
        var parsed = new List<Parsed>();
        RespParseResult result;
        while ((result = RespParser.TryParse(ref input, request, limits ?? Limits)) == RespParseResult.Parsed)
            parsed.Add(Copy(request));
        return (parsed, result, request.Error, input);
    }

    private static (List<Parsed> Requests, RespParseResult Last, RespError Error, ReadOnlySequence<byte> Remaining) ParseAll(
        string text, RespLimits? limits = null) =>
        ParseAll(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(text)), limits);

    private static Parsed Single(string text)
    {
        var (requests, last, _, rest) = ParseAll(text);
        Assert.Equal(RespParseResult.NeedMore, last);
        Assert.True(rest.IsEmpty);
        return Assert.Single(requests);
    }

    private static RespError ErrorOf(string text, RespLimits? limits = null)
    {
        var (_, last, error, _) = ParseAll(text, limits);
        Assert.Equal(RespParseResult.Invalid, last);
        return error;
    }

    /// <summary>The multibulk encoding every client library sends.</summary>
    private static string Multibulk(params string[] elements) =>
        $"*{elements.Length}\r\n" + string.Concat(elements.Select(e => $"${Encoding.Latin1.GetByteCount(e)}\r\n{e}\r\n"));

    [Fact]
    public void Multibulk_set_get_and_mset_parse_with_their_arguments()
    {
        Assert.Equal(new Parsed(RespCommandKind.Set, "SET", ["42", "hello world"]), Single(Multibulk("SET", "42", "hello world")), ParsedComparer);
        Assert.Equal(new Parsed(RespCommandKind.Get, "GET", ["42"]), Single(Multibulk("GET", "42")), ParsedComparer);
        Assert.Equal(new Parsed(RespCommandKind.MSet, "MSET", ["1", "a", "2", ""]), Single(Multibulk("MSET", "1", "a", "2", "")), ParsedComparer);
        Assert.Equal(new Parsed(RespCommandKind.Ping, "PING", []), Single("*1\r\n$4\r\nPING\r\n"), ParsedComparer);
    }

    [Theory]
    [InlineData("SET 42 hello\r\n", RespCommandKind.Set, new[] { "42", "hello" })]
    [InlineData("GET 42\n", RespCommandKind.Get, new[] { "42" })]
    [InlineData("  mset\t1 a   2  b \t\r\n", RespCommandKind.MSet, new[] { "1", "a", "2", "b" })]
    [InlineData("PING\r\n", RespCommandKind.Ping, new string[0])]
    [InlineData("SET 1 \"a b\"\r\n", RespCommandKind.Set, new[] { "1", "\"a", "b\"" })]
    [InlineData("SET 1 a\rb\r\n", RespCommandKind.Set, new[] { "1", "a", "b" })]
    public void Inline_requests_split_on_blanks_without_quote_handling(string text, RespCommandKind kind, string[] args)
    {
        var r = Single(text);
        Assert.Equal(kind, r.Kind);
        Assert.Equal(args, r.Args);
    }

    [Theory]
    [InlineData("set", RespCommandKind.Set)]
    [InlineData("SeT", RespCommandKind.Set)]
    [InlineData("get", RespCommandKind.Get)]
    [InlineData("DEL", RespCommandKind.Del)]
    [InlineData("unlink", RespCommandKind.Del)]
    [InlineData("exists", RespCommandKind.Exists)]
    [InlineData("mSet", RespCommandKind.MSet)]
    [InlineData("MGET", RespCommandKind.MGet)]
    [InlineData("ping", RespCommandKind.Ping)]
    [InlineData("Echo", RespCommandKind.Echo)]
    [InlineData("quit", RespCommandKind.Quit)]
    [InlineData("SELECT", RespCommandKind.Select)]
    [InlineData("hello", RespCommandKind.Hello)]
    [InlineData("client", RespCommandKind.Client)]
    [InlineData("COMMAND", RespCommandKind.Command)]
    [InlineData("info", RespCommandKind.Info)]
    [InlineData("dbsize", RespCommandKind.DbSize)]
    [InlineData("AUTH", RespCommandKind.Auth)]
    [InlineData("Config", RespCommandKind.Config)]
    [InlineData("sets", RespCommandKind.Unknown)]
    [InlineData("commands", RespCommandKind.Unknown)]
    [InlineData("s\u00c9t", RespCommandKind.Unknown)]
    [InlineData("", RespCommandKind.Unknown)]
    public void Names_match_case_insensitively_in_both_forms(string name, RespCommandKind kind)
    {
        Assert.Equal(kind, Single(Multibulk(name, "1")).Kind);
        if (name.Length > 0)
            Assert.Equal(kind, Single(name + " 1\r\n").Kind);
    }

    [Fact]
    public void An_unknown_command_keeps_its_name_and_arguments()
    {
        var r = Single(Multibulk("FLUSHALL", "ASYNC", "x"));
        Assert.Equal(new Parsed(RespCommandKind.Unknown, "FLUSHALL", ["ASYNC", "x"]), r, ParsedComparer);
        Assert.Equal(new Parsed(RespCommandKind.Unknown, "foo", ["bar"]), Single("foo bar\r\n"), ParsedComparer);
    }

    [Theory]
    [InlineData("*3\r\n$3\r\nSET\r\n$2\r\n42\r\n$7\r\nh\r\n\0\nx\r\r\n")]
    [InlineData("SET 42 value\r\n")]
    public void A_request_fed_byte_by_byte_needs_more_until_its_last_byte(string text)
    {
        var bytes = Encoding.Latin1.GetBytes(text);
        var request = new RespRequest();
        for (var length = 0; length < bytes.Length; length++)
        {
            var partial = new ReadOnlySequence<byte>(bytes, 0, length);
            Assert.Equal(RespParseResult.NeedMore, RespParser.TryParse(ref partial, request, Limits));
            Assert.Equal(length, partial.Length);
            Assert.Equal(0, request.ArgumentCount);
        }

        var whole = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(RespParseResult.Parsed, RespParser.TryParse(ref whole, request, Limits));
        Assert.True(whole.IsEmpty);
        Assert.Equal(RespCommandKind.Set, request.Kind);
        Assert.Equal("42", Latin1(request.Argument(0)));
    }

    [Fact]
    public void Pipelined_requests_parse_in_order_and_a_partial_one_waits()
    {
        var text = Multibulk("SET", "1", "one") + "GET 1\r\n" + Multibulk("MGET", "1", "2") + "*2\r\n$3\r\nDEL\r\n$1\r\n";
        var (requests, last, _, rest) = ParseAll(text);
        Assert.Equal([RespCommandKind.Set, RespCommandKind.Get, RespCommandKind.MGet], requests.Select(r => r.Kind));
        Assert.Equal(["2"], requests[2].Args.Skip(1));
        Assert.Equal(RespParseResult.NeedMore, last);
        Assert.Equal("*2\r\n$3\r\nDEL\r\n$1\r\n", Latin1(rest));
    }

    [Fact]
    public void A_request_split_across_segments_at_every_point_parses_the_same()
    {
        var bytes = Encoding.Latin1.GetBytes(Multibulk("SET", "123456789012", "hello\r\n\xff world") + "GET  123456789012\r\n");
        for (var cut1 = 1; cut1 < bytes.Length; cut1++)
        {
            for (var cut2 = cut1; cut2 < bytes.Length; cut2 += 5)
            {
                var (requests, last, _, rest) = ParseAll(SegmentedBuffer.Of(bytes, cut1, cut2));
                Assert.Equal(RespParseResult.NeedMore, last);
                Assert.True(rest.IsEmpty);
                Assert.Equal(2, requests.Count);
                Assert.Equal(["123456789012", "hello\r\n\xff world"], requests[0].Args);
                Assert.Equal((RespCommandKind.Get, "123456789012"), (requests[1].Kind, requests[1].Args.Single()));
            }
        }
    }

    [Fact]
    public void Bulk_values_keep_every_byte_including_cr_lf_and_nul()
    {
        var value = Enumerable.Range(0, 256).Select(i => (byte)i).Concat("\r\n\r\0\n"u8.ToArray()).ToArray();
        var writer = new ArrayBufferWriter<byte>();
        RespWriter.WriteArrayHeader(writer, 3);
        RespWriter.WriteBulk(writer, "SET"u8);
        RespWriter.WriteBulk(writer, "7"u8);
        RespWriter.WriteBulk(writer, value);

        var input = new ReadOnlySequence<byte>(writer.WrittenMemory);
        var request = new RespRequest();
        Assert.Equal(RespParseResult.Parsed, RespParser.TryParse(ref input, request, Limits));
        Assert.Equal(value, request.Argument(1).ToArray());
        Assert.True(input.IsEmpty);
    }

    [Fact]
    public void Empty_requests_are_skipped_and_consumed()
    {
        var (requests, last, _, rest) = ParseAll("*0\r\n*-1\r\n\r\n\n  \t \r\nPING\r\n*0\r\n\r\n");
        Assert.Equal(RespCommandKind.Ping, Assert.Single(requests).Kind);
        Assert.Equal(RespParseResult.NeedMore, last);
        // Skipped requests never pile up in the receive buffer.
        Assert.True(rest.IsEmpty);
    }

    [Theory]
    [InlineData("*abc\r\n", RespError.InvalidMultibulkLength)]
    [InlineData("*abc", RespError.InvalidMultibulkLength)]
    [InlineData("*1x\r\n", RespError.InvalidMultibulkLength)]
    [InlineData("*-2\r\n", RespError.InvalidMultibulkLength)]
    [InlineData("*+1\r\n", RespError.InvalidMultibulkLength)]
    [InlineData("* 1\r\n", RespError.InvalidMultibulkLength)]
    [InlineData("*01\r\n", RespError.InvalidMultibulkLength)]
    [InlineData("*\r\n", RespError.InvalidMultibulkLength)]
    [InlineData("*1\n$4\r\nPING\r\n", RespError.InvalidMultibulkLength)]
    [InlineData("*1\rx", RespError.InvalidMultibulkLength)]
    [InlineData("*99999999999999999999\r\n", RespError.InvalidMultibulkLength)]
    [InlineData("*1234567890123456789012345", RespError.InvalidMultibulkLength)]
    [InlineData("*9223372036854775807\r\n", RespError.TooManyArguments)]
    [InlineData("*1\r\n:1\r\n", RespError.ExpectedBulk)]
    [InlineData("*2\r\n$3\r\nGET\r\n1\r\n", RespError.ExpectedBulk)]
    [InlineData("*1\r\n$abc\r\n", RespError.InvalidBulkLength)]
    [InlineData("*1\r\n$-1\r\n", RespError.InvalidBulkLength)]
    [InlineData("*1\r\n$\r\n", RespError.InvalidBulkLength)]
    [InlineData("*1\r\n$4x", RespError.InvalidBulkLength)]
    [InlineData("*1\r\n$4\r\nPINGxy", RespError.ProtocolError)]
    [InlineData("*1\r\n$4\r\nPING\rx", RespError.ProtocolError)]
    [InlineData("*1\r\n$4\r\nPING\n\r", RespError.ProtocolError)]
    public void Malformed_multibulk_gets_one_specific_error(string text, RespError error) => Assert.Equal(error, ErrorOf(text));

    [Fact]
    public void Limits_are_enforced_from_the_header_alone_and_the_limit_itself_is_accepted()
    {
        var small = new RespLimits(MaxBulkBytes: 8, MaxArguments: 2, MaxInlineBytes: 16);

        // No body follows: the header alone decides.
        Assert.Equal(RespError.BulkTooLarge, ErrorOf("*2\r\n$3\r\nSET\r\n$9\r\n", small));
        Assert.Equal(RespError.BulkTooLarge, ErrorOf("*1\r\n$2147483648\r\n", small));
        Assert.Equal(RespError.TooManyArguments, ErrorOf("*4\r\n", small));
        Assert.Equal(RespError.TooManyArguments, ErrorOf("a b c d\r\n", small));

        Assert.Equal(["12345678", "x"], Assert.Single(ParseAll(Multibulk("SET", "12345678", "x"), small).Requests).Args);
        Assert.Equal(["1", "2"], Assert.Single(ParseAll("a 1 2\r\n", small).Requests).Args);
        Assert.Equal(RespParseResult.NeedMore, ParseAll("*3\r\n$8\r\n", small).Last);
    }

    [Fact]
    public void An_inline_line_over_the_limit_is_refused_without_waiting_for_its_end()
    {
        var small = new RespLimits(MaxBulkBytes: 8, MaxArguments: 8, MaxInlineBytes: 16);
        var atLimit = "SET 1 " + new string('x', 10); // 16 bytes before the line end
        Assert.Single(ParseAll(atLimit + "\n", small).Requests);
        Assert.Single(ParseAll(atLimit + "\r\n", small).Requests);
        Assert.Equal(RespError.InlineTooLong, ErrorOf(atLimit + "x\n", small));
        Assert.Equal(RespError.InlineTooLong, ErrorOf(atLimit + "x\r\n", small));

        // 17 bytes could still be 16 and a CR; 18 without a LF cannot be a line within the limit.
        Assert.Equal(RespParseResult.NeedMore, ParseAll(atLimit + "x", small).Last);
        Assert.Equal(RespError.InlineTooLong, ErrorOf(atLimit + "xx", small));
        Assert.Equal(RespError.InlineTooLong, ErrorOf(new string('y', 100_000), small));
    }

    [Fact]
    public void An_invalid_request_leaves_the_buffer_at_its_start()
    {
        var (requests, last, error, rest) = ParseAll("PING\r\n*1\r\n!x\r\n");
        Assert.Single(requests);
        Assert.Equal((RespParseResult.Invalid, RespError.ExpectedBulk), (last, error));
        Assert.Equal("*1\r\n!x\r\n", Latin1(rest));
    }

    [Fact]
    public void Every_error_has_a_one_line_error_reply()
    {
        foreach (var error in Enum.GetValues<RespError>())
        {
            var message = RespText.Message(error).ToArray();
            Assert.Equal((byte)'-', message[0]);
            Assert.EndsWith("\r\n", Encoding.ASCII.GetString(message));
            Assert.Equal(2, message.Count(b => b is (byte)'\r' or (byte)'\n'));
        }

        Assert.Equal("-ERR Protocol error: invalid multibulk length\r\n"u8.ToArray(), RespText.Message(RespError.InvalidMultibulkLength).ToArray());
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("-5", -5L)]
    [InlineData("42", 42L)]
    [InlineData("007", 7L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("-9223372036854775808", long.MinValue)]
    public void TryGetId_accepts_signed_64_bit_decimals(string argument, long id)
    {
        var request = ParseRequest(Multibulk("GET", argument));
        Assert.True(request.TryGetId(0, out var parsed));
        Assert.Equal(id, parsed);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("+1")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("-")]
    [InlineData("1x")]
    [InlineData("9223372036854775808")]
    [InlineData("-9223372036854775809")]
    [InlineData("123456789012345678901234567890")]
    [InlineData("")]
    public void TryGetId_rejects_anything_else(string argument)
    {
        var request = ParseRequest(Multibulk("GET", argument));
        Assert.False(request.TryGetId(0, out _));
    }

    [Fact]
    public void TryGetId_reads_an_id_split_across_segments()
    {
        var bytes = Encoding.Latin1.GetBytes(Multibulk("GET", "-1234567"));
        var input = SegmentedBuffer.Of(bytes, bytes.Length - 6, bytes.Length - 4);
        var request = new RespRequest();
        Assert.Equal(RespParseResult.Parsed, RespParser.TryParse(ref input, request, Limits));
        Assert.True(request.TryGetId(0, out var id));
        Assert.Equal(-1234567, id);
    }

    [Fact]
    public void Arguments_outside_the_request_are_refused()
    {
        var request = ParseRequest(Multibulk("GET", "1"));
        Assert.Throws<ArgumentOutOfRangeException>(() => request.Argument(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => request.Argument(-1));
    }

    [Fact]
    public void A_reused_request_reflects_only_the_latest_request()
    {
        var request = new RespRequest();
        var input = new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(
            Multibulk([.. Enumerable.Range(0, 40).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))]) + "GET 5\r\n"));
        Assert.Equal(RespParseResult.Parsed, RespParser.TryParse(ref input, request, Limits));
        Assert.Equal(39, request.ArgumentCount);
        Assert.Equal("39", Latin1(request.Argument(38)));
        Assert.Equal(RespParseResult.Parsed, RespParser.TryParse(ref input, request, Limits));
        Assert.Equal((RespCommandKind.Get, 1, "5"), (request.Kind, request.ArgumentCount, Latin1(request.Argument(0))));
        Assert.Equal(RespParseResult.NeedMore, RespParser.TryParse(ref input, request, Limits));
        Assert.Equal((RespCommandKind.Unknown, 0, RespError.None), (request.Kind, request.ArgumentCount, request.Error));
    }

    [Fact]
    public void Parsing_a_warmed_request_allocates_nothing()
    {
        var bytes = Encoding.Latin1.GetBytes(Multibulk("MSET", "1", "one", "2", "two") + "GET 1\r\n" + Multibulk("GET", "2"));
        ReadOnlySequence<byte>[] sources = [new(bytes), SegmentedBuffer.Of(bytes, 7, 30)];
        var request = new RespRequest();
        long Run()
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 100; i++)
            {
                foreach (var source in sources)
                {
                    var input = source;
                    while (RespParser.TryParse(ref input, request, Limits) == RespParseResult.Parsed)
                        request.TryGetId(0, out _);
                }
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        // The first rounds may allocate (the request's slots grow, the JIT compiles); the steady state may not.
        Run();
        Run();
        Assert.Equal(0, Run());
    }

    private static RespRequest ParseRequest(string text)
    {
        var input = new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(text));
        var request = new RespRequest();
        Assert.Equal(RespParseResult.Parsed, RespParser.TryParse(ref input, request, Limits));
        return request;
    }

    private static readonly IEqualityComparer<Parsed> ParsedComparer = EqualityComparer<Parsed>.Create(
        (a, b) => a is not null && b is not null && a.Kind == b.Kind && a.Name == b.Name && a.Args.SequenceEqual(b.Args),
        p => p.Kind.GetHashCode());
}
