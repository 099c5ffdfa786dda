using System.Buffers;
using System.Text;
using Tolerex.Protocol.HaToKuSe;

namespace Tolerex.Tests.Unit.Protocol;

public class HaToKuSeParserTests
{
    private const int Max = 4 * 1024 * 1024;

    private static List<HaToKuSeCommand> ParseAll(ReadOnlySequence<byte> input, int max = Max)
    {
        var commands = new List<HaToKuSeCommand>();
        while (HaToKuSeParser.TryParse(ref input, max, out var command))
        {
            // Copy the payload: it is only a view of the buffer.
            commands.Add(command with { Payload = new ReadOnlySequence<byte>(command.Payload.ToArray()) });
            if (command.Error == ProtocolError.LineTooLong)
                break;
        }

        return commands;
    }

    private static List<HaToKuSeCommand> ParseAll(string text, int max = Max) =>
        ParseAll(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(text)), max);

    private static HaToKuSeCommand Single(string line) => Assert.Single(ParseAll(line + "\r\n"));

    private static string Text(HaToKuSeCommand c) => Encoding.UTF8.GetString(c.Payload.ToArray());

    [Theory]
    [InlineData("SET 10 HELLO", 10L, "HELLO")]
    [InlineData("set 10 HELLO", 10L, "HELLO")]
    [InlineData("Set 10 HELLO   world", 10L, "HELLO   world")]
    [InlineData("SET 1  a \t  b ", 1L, " a \t  b ")]
    [InlineData("SET 007 x", 7L, "x")]
    [InlineData("SET -3 neg", -3L, "neg")]
    [InlineData("SET +3 pos", 3L, "pos")]
    [InlineData("SET 4294967297 x", 4294967297L, "x")]
    [InlineData("SET 9223372036854775807 max", long.MaxValue, "max")]
    [InlineData("SET -9223372036854775808 min", long.MinValue, "min")]
    [InlineData("  SET\t5\tTabbed", 5L, "Tabbed")]
    [InlineData("SET 1 ", 1L, "")]
    public void Set_keeps_the_message_byte_for_byte(string line, long id, string message)
    {
        var c = Single(line);
        Assert.Equal(CommandKind.Set, c.Kind);
        Assert.Equal(id, c.Id);
        Assert.Equal(message, Text(c));
    }

    [Theory]
    [InlineData("SET", ProtocolError.SetUsage)]
    [InlineData("SET 10", ProtocolError.SetUsage)]
    [InlineData("SET x", ProtocolError.SetUsage)]
    [InlineData("SET x y", ProtocolError.IdNotNumeric)]
    [InlineData("SET 1x y", ProtocolError.IdNotNumeric)]
    [InlineData("SET 9223372036854775808 y", ProtocolError.IdNotNumeric)]
    [InlineData("SET -9223372036854775809 y", ProtocolError.IdNotNumeric)]
    [InlineData("SET 99999999999999999999999 y", ProtocolError.IdNotNumeric)]
    [InlineData("SET - y", ProtocolError.IdNotNumeric)]
    [InlineData("GET", ProtocolError.GetUsage)]
    [InlineData("GET 1 2", ProtocolError.GetUsage)]
    [InlineData("GET abc", ProtocolError.IdNotNumeric)]
    [InlineData("GET 18446744073709551616", ProtocolError.IdNotNumeric)]
    [InlineData("FOO", ProtocolError.UnknownCommand)]
    [InlineData("1000 GET x", ProtocolError.UnknownCommand)]
    [InlineData("0 SET x", ProtocolError.CountNotValid)]
    [InlineData("-5 SET x", ProtocolError.CountNotValid)]
    [InlineData("99999999999999999999 SET x", ProtocolError.CountNotValid)]
    [InlineData("10 SET", ProtocolError.BulkUsage)]
    [InlineData("PROMPT", ProtocolError.PromptUsage)]
    [InlineData("PROMPT maybe", ProtocolError.PromptUsage)]
    public void Bad_input_gets_one_specific_error(string line, ProtocolError error)
    {
        var c = Single(line);
        Assert.Equal(CommandKind.Invalid, c.Kind);
        Assert.Equal(error, c.Error);
    }

    [Theory]
    [InlineData("GET 10", 10L)]
    [InlineData("get -7", -7L)]
    [InlineData("  GET   42   ", 42L)]
    [InlineData("GET 4294967297", 4294967297L)]
    public void Get_parses_64_bit_ids(string line, long id)
    {
        var c = Single(line);
        Assert.Equal(CommandKind.Get, c.Kind);
        Assert.Equal(id, c.Id);
    }

    [Fact]
    public void Get_with_a_long_run_of_trailing_blanks_still_parses()
    {
        var c = Single("GET 5" + new string(' ', 1000));
        Assert.Equal(CommandKind.Get, c.Kind);
        Assert.Equal(5, c.Id);
    }

    [Theory]
    [InlineData("HELP", CommandKind.Help)]
    [InlineData("help me", CommandKind.Help)]
    [InlineData("QUIT", CommandKind.Quit)]
    [InlineData("exit now", CommandKind.Quit)]
    [InlineData("PING", CommandKind.Ping)]
    [InlineData("members", CommandKind.Members)]
    [InlineData("Status", CommandKind.Status)]
    [InlineData("", CommandKind.Empty)]
    [InlineData("   \t ", CommandKind.Empty)]
    public void Simple_commands_are_case_insensitive(string line, CommandKind kind) => Assert.Equal(kind, Single(line).Kind);

    [Fact]
    public void Auth_takes_every_byte_after_the_separator_as_the_password()
    {
        var c = Single("auth  two words ");
        Assert.Equal(CommandKind.Auth, c.Kind);
        Assert.Equal(" two words ", Text(c));
        Assert.Equal(ProtocolError.AuthUsage, Single("AUTH").Error);
        Assert.Equal(ProtocolError.AuthUsage, Single("AUTH ").Error);
    }

    [Fact]
    public void Decommission_takes_one_member_name()
    {
        var c = Single("decommission  https://localhost:5556 ");
        Assert.Equal(CommandKind.Decommission, c.Kind);
        Assert.Equal("https://localhost:5556", Text(c));
        Assert.Equal(ProtocolError.DecommissionUsage, Single("DECOMMISSION").Error);
        Assert.Equal(ProtocolError.DecommissionUsage, Single("DECOMMISSION a b").Error);
        Assert.Equal(ProtocolError.DecommissionUsage, Single("DECOMMISSION " + new string('x', 300)).Error);
    }

    [Fact]
    public void Prompt_switch_parses_on_and_off()
    {
        Assert.True(Single("PROMPT ON").Flag);
        Assert.False(Single("prompt off").Flag);
        Assert.Equal(CommandKind.Prompt, Single("PROMPT OFF").Kind);
    }

    [Fact]
    public void Bulk_set_parses_count_and_message()
    {
        var c = Single("1000 SET HELLO world");
        Assert.Equal(CommandKind.BulkSet, c.Kind);
        Assert.Equal(1000, c.Count);
        Assert.Equal("HELLO world", Text(c));
        Assert.Equal(CommandKind.BulkSet, Single("3 set x").Kind);
    }

    [Fact]
    public void Lf_and_crlf_both_end_a_line_and_a_bare_cr_does_not()
    {
        var commands = ParseAll("SET 1 a\nSET 2 b\r\nSET 3 c\rd\n");
        Assert.Equal(3, commands.Count);
        Assert.Equal(["a", "b", "c\rd"], commands.Select(Text));
    }

    [Fact]
    public void Every_complete_command_in_a_buffer_is_parsed_in_order_and_a_partial_one_waits()
    {
        var input = new ReadOnlySequence<byte>("SET 1 one\r\nGET 1\r\nPING\r\nSET 2 tw"u8.ToArray());
        var kinds = new List<CommandKind>();
        while (HaToKuSeParser.TryParse(ref input, Max, out var c))
            kinds.Add(c.Kind);
        Assert.Equal([CommandKind.Set, CommandKind.Get, CommandKind.Ping], kinds);
        Assert.Equal("SET 2 tw", Encoding.ASCII.GetString(input.ToArray()));
    }

    [Fact]
    public void A_command_split_at_every_possible_point_parses_the_same()
    {
        var bytes = "SET 123456789012 hello \xff world\r\nGET 123456789012\r\n"u8.ToArray();
        for (var cut1 = 1; cut1 < bytes.Length; cut1++)
        {
            for (var cut2 = cut1; cut2 < bytes.Length; cut2 += 7)
            {
                var commands = ParseAll(SegmentedBuffer.Of(bytes, cut1, cut2));
                Assert.Equal(2, commands.Count);
                Assert.Equal(123456789012L, commands[0].Id);
                Assert.Equal(Encoding.UTF8.GetBytes("hello \xff world"), commands[0].Payload.ToArray());
                Assert.Equal(CommandKind.Get, commands[1].Kind);
            }
        }
    }

    [Fact]
    public void Binary_messages_survive_except_line_ends()
    {
        var payload = Enumerable.Range(0, 256).Select(i => (byte)i).Where(b => b is not (byte)'\n').ToArray();
        // A CR right before the LF is part of the line end, so the payload must not end in CR.
        var line = "SET 9 "u8.ToArray().Concat(payload).Concat("x\n"u8.ToArray()).ToArray();
        var c = Assert.Single(ParseAll(new ReadOnlySequence<byte>(line)));
        Assert.Equal(payload.Concat("x"u8.ToArray()).ToArray(), c.Payload.ToArray());
    }

    [Fact]
    public void A_line_over_the_limit_is_refused_without_waiting_for_its_end()
    {
        var input = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes("SET 1 " + new string('x', 100)));
        Assert.True(HaToKuSeParser.TryParse(ref input, 64, out var c));
        Assert.Equal(ProtocolError.LineTooLong, c.Error);
    }

    [Fact]
    public void A_line_at_the_limit_is_accepted_and_one_byte_more_is_not()
    {
        var atLimit = "SET 1 " + new string('x', 58); // 64 bytes before the LF
        Assert.Equal(CommandKind.Set, Assert.Single(ParseAll(atLimit + "\n", 64)).Kind);
        Assert.Equal(CommandKind.Set, Assert.Single(ParseAll(atLimit + "\r\n", 64)).Kind);
        Assert.Equal(ProtocolError.LineTooLong, Assert.Single(ParseAll(atLimit + "x\n", 64)).Error);
    }

    [Fact]
    public void A_short_partial_line_asks_for_more_data()
    {
        var input = new ReadOnlySequence<byte>("SET 1 abc"u8.ToArray());
        Assert.False(HaToKuSeParser.TryParse(ref input, 64, out _));
        Assert.Equal(9, input.Length);
    }

    [Theory]
    [InlineData(0L, "")]
    [InlineData(long.MinValue, "  spaced\tout  ")]
    [InlineData(4294967297L, "x")]
    public void Commands_written_by_the_client_side_writer_parse_back(long id, string message)
    {
        var writer = new ArrayBufferWriter<byte>();
        HaToKuSeWriter.WriteSet(writer, id, Encoding.UTF8.GetBytes(message));
        HaToKuSeWriter.WriteGet(writer, id);
        var commands = ParseAll(new ReadOnlySequence<byte>(writer.WrittenMemory));
        Assert.Equal((CommandKind.Set, id, message), (commands[0].Kind, commands[0].Id, Text(commands[0])));
        Assert.Equal((CommandKind.Get, id), (commands[1].Kind, commands[1].Id));
    }
}
