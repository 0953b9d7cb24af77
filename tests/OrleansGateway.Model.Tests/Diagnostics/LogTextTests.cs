using OrleansGateway.Model.Diagnostics;

namespace OrleansGateway.Model.Tests.Diagnostics;

/// <summary>What tenants and clients put in logs and metric tags cannot end a line, add a field or grow without bound.</summary>
public class LogTextTests
{
    [Theory]
    [InlineData("plain text, with spaces and 'quotes'", "plain text, with spaces and 'quotes'")]
    [InlineData("a\nb", "a\\nb")]
    [InlineData("a\r\nforged=1", "a\\r\\nforged=1")]
    [InlineData("tab\there", "tab\\there")]
    [InlineData("\u001b[2J", "\\u001b[2J")]
    [InlineData("nel\u0085x", "nel\\u0085x")]
    [InlineData("del\u007fx", "del\\u007fx")]
    [InlineData("line\u2028sep\u2029", "line\\u2028sep\\u2029")]
    [InlineData("rtl\u202eevil\u2066", "rtl\\u202eevil\\u2066")]
    [InlineData("caf\u00e9 \u65e5\u672c", "caf\u00e9 \u65e5\u672c")]
    public void Escape_writes_line_breaking_and_terminal_characters_as_escapes(string text, string expected)
    {
        Assert.Equal(expected, LogText.Escape(text));
    }

    [Fact]
    public void Escape_returns_safe_text_itself()
    {
        const string text = "Tenant acme: TCPMapping 'db' (namespace default) is Discarded";
        Assert.Same(text, LogText.Escape(text));
    }

    [Theory]
    [InlineData(null, "-")]
    [InlineData("", "-")]
    [InlineData("default/echo-tcp", "default/echo-tcp")]
    [InlineData("listener-[::1]-7000", "listener-[::1]-7000")]
    [InlineData("shop.a.test", "shop.a.test")]
    [InlineData("x tenant=victim", "\"x tenant=victim\"")]
    [InlineData("say \"hi\"\\", "\"say \\\"hi\\\"\\\\\"")]
    [InlineData("a\nlistener=forged", "\"a\\nlistener=forged\"")]
    public void Field_is_one_token_of_a_key_value_line(string? value, string expected)
    {
        Assert.Equal(expected, LogText.Field(value));
    }

    [Fact]
    public void Long_values_are_cut_and_say_by_how_much()
    {
        var field = LogText.Field(new string('a', 10_000));
        Assert.True(field.Length <= LogText.MaxValueLength + 2, field); // the quotes the marker's parentheses need
        var cut = System.Text.RegularExpressions.Regex.Match(field, @"^""(a+)\.\.\.\(\+(\d+)\)""$");
        Assert.True(cut.Success, field);
        Assert.Equal(10_000, cut.Groups[1].Length + int.Parse(cut.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));

        var tag = LogText.Tag(new string('b', 1_000) + "\n");
        Assert.True(tag.Length <= LogText.MaxTagLength, tag);
        Assert.DoesNotContain('\n', tag);

        // A cut never leaves half of a surrogate pair, wherever it falls.
        var emojis = string.Concat(Enumerable.Repeat("\ud83d\ude00", 200));
        for (var max = 100; max < 110; max++)
        {
            var cutEmojis = LogText.Cut(emojis, max);
            Assert.True(cutEmojis.Length <= max);
            Assert.True(WholePairs(cutEmojis), cutEmojis);
        }
    }

    private static bool WholePairs(string text) =>
        Enumerable.Range(0, text.Length).All(i =>
            (!char.IsHighSurrogate(text[i]) || (i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])))
            && (!char.IsLowSurrogate(text[i]) || (i > 0 && char.IsHighSurrogate(text[i - 1]))));

    [Fact]
    public void Quote_escapes_and_bounds_a_value_in_a_message()
    {
        Assert.Equal("'bad\\nname'", LogText.Quote("bad\nname"));
        Assert.True(LogText.Quote(new string('q', 5_000)).Length <= LogText.MaxValueLength + 2);
    }
}
