namespace Avatar.Chat.Llm;

/// <summary>A real 78-card tarot deck and its readings, for the embedded engine's tarot reader.</summary>
internal static class Tarot
{
    private static readonly (string Name, string Upright, string Reversed)[] s_major =
    [
        ("The Fool", "a leap into something new", "a risk taken without looking"),
        ("The Magician", "the skill to make it happen", "talent held back or misused"),
        ("The High Priestess", "trusting your intuition", "a secret you keep from yourself"),
        ("The Empress", "abundance and care", "giving so much you run dry"),
        ("The Emperor", "structure and steady leadership", "control that has grown rigid"),
        ("The Hierophant", "tradition and good counsel", "breaking a rule that no longer fits"),
        ("The Lovers", "a choice made with the heart", "a bond out of balance"),
        ("The Chariot", "willpower that carries you forward", "pulling in two directions at once"),
        ("Strength", "quiet courage", "doubt in your own strength"),
        ("The Hermit", "time alone to find an answer", "loneliness instead of reflection"),
        ("The Wheel of Fortune", "a turn of luck", "a cycle you keep repeating"),
        ("Justice", "a fair outcome", "an imbalance that asks to be set right"),
        ("The Hanged Man", "a pause that changes your view", "waiting past the point of use"),
        ("Death", "an ending that makes room", "holding on to what is over"),
        ("Temperance", "patience and balance", "excess in one direction"),
        ("The Devil", "a habit that binds you", "breaking free of a chain"),
        ("The Tower", "a sudden shake-up", "a crisis you narrowly avoid"),
        ("The Star", "hope and renewal", "hope that needs tending"),
        ("The Moon", "uncertainty and dreams", "confusion starting to clear"),
        ("The Sun", "joy and success", "a joy delayed, not denied"),
        ("Judgement", "a calling you finally answer", "judging yourself too harshly"),
        ("The World", "completion and arrival", "an unfinished last step"),
    ];

    private static readonly (string Suit, string Theme)[] s_suits =
    [
        ("Wands", "energy and ambition"), ("Cups", "feelings and relationships"), ("Swords", "thoughts and conflict"), ("Pentacles", "work and money"),
    ];

    private static readonly (string Rank, string Meaning)[] s_ranks =
    [
        ("Ace", "a fresh start in"), ("Two", "a choice about"), ("Three", "growth in"), ("Four", "stability in"), ("Five", "a struggle over"),
        ("Six", "harmony returning to"), ("Seven", "a test of"), ("Eight", "swift movement in"), ("Nine", "near fulfilment of"),
        ("Ten", "the full weight of"), ("Page", "news about"), ("Knight", "bold action in"), ("Queen", "mature care for"), ("King", "mastery of"),
    ];

    private static readonly string[] s_questionStarts = ["will", "should", "what", "how", "when", "why", "is", "are", "do", "does", "can", "who", "where"];

    /// <summary>The number of cards in the deck: 22 major and 56 minor arcana.</summary>
    public static int DeckSize => s_major.Length + s_suits.Length * s_ranks.Length;

    /// <summary>A three-card spread (past, present, future) for a question, one card otherwise; cards never repeat.</summary>
    public static string Read(string said, Random random)
    {
        var isQuestion = said.Contains('?', StringComparison.Ordinal)
            || s_questionStarts.Any(q => said.TrimStart().StartsWith(q + " ", StringComparison.OrdinalIgnoreCase));
        var deck = Enumerable.Range(0, DeckSize).ToArray();
        random.Shuffle(deck);
        if (!isQuestion)
        {
            var (name, meaning) = Card(deck[0], reversed: random.Next(2) == 0);
            return $"I drew one card for you: {name}. It speaks of {meaning}. Ask me a question, and I will lay out three.";
        }
        string[] positions = ["past", "present", "future"];
        var readings = positions.Select((position, i) =>
        {
            var (name, meaning) = Card(deck[i], reversed: random.Next(2) == 0);
            return $"For your {position}, {name}: {meaning}.";
        });
        return "Let us see what the cards say. " + string.Join(" ", readings) + " " + EmbeddedEngine.Pick(random,
            "Take what rings true, and leave the rest.", "The cards show a path, not a verdict.", "Sit with that for a moment.");
    }

    /// <summary>The card's spoken name (with "reversed") and its meaning.</summary>
    public static (string Name, string Meaning) Card(int index, bool reversed)
    {
        string name, meaning;
        if (index < s_major.Length)
        {
            var card = s_major[index];
            (name, meaning) = (card.Name, reversed ? card.Reversed : card.Upright);
        }
        else
        {
            var minor = index - s_major.Length;
            var (suit, theme) = s_suits[minor / s_ranks.Length];
            var (rank, rankMeaning) = s_ranks[minor % s_ranks.Length];
            name = $"the {rank} of {suit}";
            meaning = reversed ? $"{rankMeaning} {theme}, but blocked for now" : $"{rankMeaning} {theme}";
        }
        return (reversed ? $"{name}, reversed" : name, meaning);
    }
}
