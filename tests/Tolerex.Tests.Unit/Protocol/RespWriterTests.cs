using System.Buffers;
using System.Text;
using Tolerex.Protocol.Resp;

namespace Tolerex.Tests.Unit.Protocol;

public class RespWriterTests
{
    private static string Written(Action<IBufferWriter<byte>> write)
    {
        var writer = new ArrayBufferWriter<byte>();
        write(writer);
        return Encoding.Latin1.GetString(writer.WrittenSpan);
    }

    [Fact]
    public void Raw_bytes_are_written_as_they_are() =>
        Assert.Equal("+OK\r\n", Written(w => RespWriter.Write(w, RespText.Ok)));

    [Fact]
    public void Simple_strings_and_errors_get_their_marker_and_crlf()
    {
        Assert.Equal("+PONG\r\n", Written(w => RespWriter.WriteSimpleString(w, "PONG"u8)));
        Assert.Equal("+\r\n", Written(w => RespWriter.WriteSimpleString(w, ""u8)));
        Assert.Equal("-ERR no leader\r\n", Written(w => RespWriter.WriteError(w, "ERR no leader"u8)));
    }

    [Theory]
    [InlineData(0L, ":0\r\n")]
    [InlineData(1L, ":1\r\n")]
    [InlineData(-42L, ":-42\r\n")]
    [InlineData(long.MaxValue, ":9223372036854775807\r\n")]
    [InlineData(long.MinValue, ":-9223372036854775808\r\n")]
    public void Integers_are_decimal(long value, string expected) =>
        Assert.Equal(expected, Written(w => RespWriter.WriteInteger(w, value)));

    [Fact]
    public void Bulk_strings_carry_their_length_and_any_bytes()
    {
        Assert.Equal("$5\r\nhello\r\n", Written(w => RespWriter.WriteBulk(w, "hello"u8)));
        Assert.Equal("$0\r\n\r\n", Written(w => RespWriter.WriteBulk(w, ReadOnlySpan<byte>.Empty)));
        Assert.Equal("$4\r\n\r\n\0\n\r\n", Written(w => RespWriter.WriteBulk(w, "\r\n\0\n"u8)));
        Assert.Equal("$-1\r\n", Written(RespWriter.WriteNullBulk));
    }

    [Fact]
    public void A_bulk_string_from_a_multi_segment_sequence_is_written_whole()
    {
        var value = Encoding.Latin1.GetBytes("first|second|third");
        var sequence = SegmentedBuffer.Of(value, 6, 13);
        Assert.False(sequence.IsSingleSegment);
        Assert.Equal("$18\r\nfirst|second|third\r\n", Written(w => RespWriter.WriteBulk(w, sequence)));
        Assert.Equal("$0\r\n\r\n", Written(w => RespWriter.WriteBulk(w, ReadOnlySequence<byte>.Empty)));
    }

    [Fact]
    public void A_value_larger_than_the_writers_buffer_is_written_whole()
    {
        var value = Enumerable.Range(0, 300_000).Select(i => (byte)i).ToArray();
        var writer = new ArrayBufferWriter<byte>(16);
        RespWriter.WriteBulk(writer, value);
        Assert.Equal([.. "$300000\r\n"u8, .. value, .. "\r\n"u8], writer.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData(0, "*0\r\n")]
    [InlineData(3, "*3\r\n")]
    [InlineData(-1, "*-1\r\n")]
    [InlineData(int.MaxValue, "*2147483647\r\n")]
    public void Array_headers_carry_their_count(int count, string expected) =>
        Assert.Equal(expected, Written(w => RespWriter.WriteArrayHeader(w, count)));

    [Fact]
    public void An_mget_reply_is_an_array_of_bulks_and_nulls() =>
        Assert.Equal("*2\r\n$1\r\na\r\n$-1\r\n", Written(w =>
        {
            RespWriter.WriteArrayHeader(w, 2);
            RespWriter.WriteBulk(w, "a"u8);
            RespWriter.WriteNullBulk(w);
        }));

    [Fact]
    public void Every_fixed_reply_is_one_crlf_terminated_line()
    {
        byte[][] texts =
        [
            RespText.Ok.ToArray(), RespText.Pong.ToArray(), RespText.NullBulk.ToArray(), RespText.EmptyArray.ToArray(),
            RespText.Zero.ToArray(), RespText.One.ToArray(), RespText.KeyNotId.ToArray(), RespText.UnknownCommand.ToArray(),
            RespText.WrongArgumentCount.ToArray(), RespText.NotAnInteger.ToArray(), RespText.NoAuth.ToArray(),
            RespText.WrongPass.ToArray(), RespText.NoPasswordSet.ToArray(), RespText.DbIndexOutOfRange.ToArray(),
            RespText.NoProto.ToArray(), RespText.StoreFailed.ToArray(), RespText.RetrieveFailed.ToArray(),
            RespText.DeleteFailed.ToArray(), RespText.NoLeader.ToArray(), RespText.SyntaxError.ToArray(),
            RespText.UnknownSubcommand.ToArray(), RespText.TooManyConnections.ToArray(), RespText.RequestTimeout.ToArray(),
            RespText.RequestTooLarge.ToArray(),
        ];
        foreach (var text in texts)
        {
            Assert.Contains((char)text[0], "+-:$*");
            Assert.Equal([(byte)'\r', (byte)'\n'], text[^2..]);
            Assert.Equal(2, text.Count(b => b is (byte)'\r' or (byte)'\n'));
        }
    }
}
