namespace Avatar.A2F.Inference.LipSync;

/// <summary>How a phoneme rounds the lips, for the rounding metric.</summary>
public enum Rounding
{
    /// <summary>Neither (consonants, neutral vowels).</summary>
    None,
    /// <summary>Rounded vowels: goose, foot, goat, thought, choice.</summary>
    Rounded,
    /// <summary>Spread vowels: fleece, kit, face, dress.</summary>
    Spread,
}

/// <summary>What a phoneme looks like: its viseme, how open the jaw is (0 closed .. 1 wide open), its rounding.</summary>
/// <param name="Viseme">The viseme class the model learns.</param>
/// <param name="Openness">Reference jaw openness for the metric.</param>
/// <param name="Rounding">Lip rounding class.</param>
/// <param name="IsBilabial">p, b, m: the lips must close.</param>
public readonly record struct PhonemeClass(Viseme Viseme, float Openness, Rounding Rounding = Rounding.None, bool IsBilabial = false)
{
    /// <summary>Open vowels, the other side of the closure metric.</summary>
    public bool IsOpenVowel => Viseme == Viseme.AA || (Viseme == Viseme.OH && Openness >= .7f);

    /// <summary>A pause.</summary>
    public bool IsSilence => Viseme == Viseme.Sil;
}

/// <summary>
/// Classifies phones: espeak-ng's English mnemonics (as its phoneme events report them), the CMU (ARPAbet) set that
/// flite and festival use and GnuSpeech's postures, with the same openness for the same sound so that every engine
/// teaches the same mouth.
/// </summary>
public static class Phonemes
{
    private static readonly Dictionary<string, PhonemeClass> s_table = new(StringComparer.Ordinal)
    {
        // Bilabials: lips closed.
        ["p"] = new(Viseme.PP, 0, IsBilabial: true), ["b"] = new(Viseme.PP, 0, IsBilabial: true), ["m"] = new(Viseme.PP, 0, IsBilabial: true),
        ["f"] = new(Viseme.FF, .1f), ["v"] = new(Viseme.FF, .1f),
        ["T"] = new(Viseme.TH, .2f), ["D"] = new(Viseme.TH, .2f),
        ["t"] = new(Viseme.DD, .2f), ["d"] = new(Viseme.DD, .2f), ["t#"] = new(Viseme.DD, .2f), ["d#"] = new(Viseme.DD, .2f), ["?"] = new(Viseme.DD, .2f),
        ["k"] = new(Viseme.KK, .3f), ["g"] = new(Viseme.KK, .3f), ["N"] = new(Viseme.KK, .25f), ["x"] = new(Viseme.KK, .3f),
        ["S"] = new(Viseme.CH, .2f), ["Z"] = new(Viseme.CH, .2f), ["tS"] = new(Viseme.CH, .2f), ["dZ"] = new(Viseme.CH, .2f),
        ["s"] = new(Viseme.SS, .15f), ["z"] = new(Viseme.SS, .15f),
        ["n"] = new(Viseme.NN, .15f), ["l"] = new(Viseme.NN, .25f), ["n-"] = new(Viseme.NN, .15f), ["l-"] = new(Viseme.NN, .25f), ["@L"] = new(Viseme.NN, .3f),
        ["r"] = new(Viseme.RR, .25f), ["r-"] = new(Viseme.RR, .25f), ["3"] = new(Viseme.RR, .35f), ["3:"] = new(Viseme.RR, .4f), ["@r"] = new(Viseme.RR, .35f),
        ["w"] = new(Viseme.OU, .15f, Rounding.Rounded), ["j"] = new(Viseme.IH, .2f), ["h"] = new(Viseme.E, .4f),
        // Open vowels.
        ["a"] = new(Viseme.AA, .9f), ["aa"] = new(Viseme.AA, 1f), ["A:"] = new(Viseme.AA, 1f), ["A@"] = new(Viseme.AA, .9f), ["a#"] = new(Viseme.AA, .8f),
        ["aI"] = new(Viseme.AA, .9f), ["aU"] = new(Viseme.AA, .9f), ["aI@"] = new(Viseme.AA, .9f), ["aU@"] = new(Viseme.AA, .9f),
        // Mid vowels.
        ["V"] = new(Viseme.E, .75f), ["E"] = new(Viseme.E, .65f, Rounding.Spread), ["e"] = new(Viseme.E, .6f, Rounding.Spread),
        ["e@"] = new(Viseme.E, .65f), ["eI"] = new(Viseme.E, .55f, Rounding.Spread),
        ["@"] = new(Viseme.E, .45f), ["@2"] = new(Viseme.E, .45f), ["@5"] = new(Viseme.E, .45f),
        // Close front vowels.
        ["I"] = new(Viseme.IH, .3f, Rounding.Spread), ["i"] = new(Viseme.IH, .3f, Rounding.Spread), ["i:"] = new(Viseme.IH, .25f, Rounding.Spread),
        ["I2"] = new(Viseme.IH, .3f, Rounding.Spread), ["I#"] = new(Viseme.IH, .3f, Rounding.Spread), ["i@"] = new(Viseme.IH, .35f), ["i@3"] = new(Viseme.IH, .35f),
        // Rounded vowels.
        ["0"] = new(Viseme.OH, .8f, Rounding.Rounded), ["O:"] = new(Viseme.OH, .7f, Rounding.Rounded), ["O@"] = new(Viseme.OH, .7f, Rounding.Rounded),
        ["o@"] = new(Viseme.OH, .65f, Rounding.Rounded), ["oU"] = new(Viseme.OH, .55f, Rounding.Rounded), ["OI"] = new(Viseme.OH, .65f, Rounding.Rounded),
        ["U"] = new(Viseme.OU, .3f, Rounding.Rounded), ["u:"] = new(Viseme.OU, .3f, Rounding.Rounded), ["U@"] = new(Viseme.OU, .35f, Rounding.Rounded),
    };

    private static readonly Dictionary<string, PhonemeClass> s_arpabet = new(StringComparer.Ordinal)
    {
        ["p"] = new(Viseme.PP, 0, IsBilabial: true), ["b"] = new(Viseme.PP, 0, IsBilabial: true), ["m"] = new(Viseme.PP, 0, IsBilabial: true),
        ["f"] = new(Viseme.FF, .1f), ["v"] = new(Viseme.FF, .1f), ["th"] = new(Viseme.TH, .2f), ["dh"] = new(Viseme.TH, .2f),
        ["t"] = new(Viseme.DD, .2f), ["d"] = new(Viseme.DD, .2f), ["dx"] = new(Viseme.DD, .2f),
        ["k"] = new(Viseme.KK, .3f), ["g"] = new(Viseme.KK, .3f), ["ng"] = new(Viseme.KK, .25f),
        ["sh"] = new(Viseme.CH, .2f), ["zh"] = new(Viseme.CH, .2f), ["ch"] = new(Viseme.CH, .2f), ["jh"] = new(Viseme.CH, .2f),
        ["s"] = new(Viseme.SS, .15f), ["z"] = new(Viseme.SS, .15f), ["n"] = new(Viseme.NN, .15f), ["l"] = new(Viseme.NN, .25f),
        ["r"] = new(Viseme.RR, .25f), ["er"] = new(Viseme.RR, .4f), ["axr"] = new(Viseme.RR, .35f),
        ["w"] = new(Viseme.OU, .15f, Rounding.Rounded), ["y"] = new(Viseme.IH, .2f), ["hh"] = new(Viseme.E, .4f),
        // As espeak-ng's A: (aa), a (ae), aI (ay), aU (aw), O: (ao), V (ah), E (eh), eI (ey), @ (ax) ...
        ["aa"] = new(Viseme.AA, 1f), ["ae"] = new(Viseme.AA, .9f), ["ay"] = new(Viseme.AA, .9f), ["aw"] = new(Viseme.AA, .9f),
        ["ah"] = new(Viseme.E, .75f), ["eh"] = new(Viseme.E, .65f, Rounding.Spread), ["ey"] = new(Viseme.E, .55f, Rounding.Spread),
        ["ax"] = new(Viseme.E, .45f), ["ih"] = new(Viseme.IH, .3f, Rounding.Spread), ["iy"] = new(Viseme.IH, .25f, Rounding.Spread),
        ["ao"] = new(Viseme.OH, .7f, Rounding.Rounded), ["ow"] = new(Viseme.OH, .55f, Rounding.Rounded), ["oy"] = new(Viseme.OH, .65f, Rounding.Rounded),
        ["uh"] = new(Viseme.OU, .3f, Rounding.Rounded), ["uw"] = new(Viseme.OU, .3f, Rounding.Rounded),
    };

    // GnuSpeech's postures: every one in its monet.xml, each with the class of its sound in the ARPAbet table (the sound
    // from its words in GnuSpeech's dictionary: "cup" k_a_p, "hat" h_aa_t, "father" f_ar.dh_r, "buy" b_ah_i, "bought"
    // b_aw_t, "see" s_i, "should" sh_u_d, "boot" b_uu_t, "open" uh_uu.p_uh_n). A diphthong is two postures, each with its
    // own class. The marked variants (a trailing ', the tonic foot) are the same postures. "o" (lot: "fox" f_o_k_s) has
    // no ARPAbet phone of its own (CMU says aa or ao) and takes espeak-ng's "0". The q postures are the short silences
    // GnuSpeech puts after a stop that another stop follows (qp after p or b, qt after t or d ...) and after s or z
    // before a fricative (qs, qz): the mouth keeps that consonant's shape, so they take its class; q, # and ^ are at
    // rest. gs, the glottal stop it puts between some vowels, is espeak-ng's "?".
    private static readonly Dictionary<string, PhonemeClass> s_gnuSpeech = new(StringComparer.Ordinal)
    {
        ["#"] = new(Viseme.Sil, 0), ["^"] = new(Viseme.Sil, 0), ["q"] = new(Viseme.Sil, 0),
        ["p"] = new(Viseme.PP, 0, IsBilabial: true), ["b"] = new(Viseme.PP, 0, IsBilabial: true), ["m"] = new(Viseme.PP, 0, IsBilabial: true),
        ["px"] = new(Viseme.PP, 0, IsBilabial: true), ["bx"] = new(Viseme.PP, 0, IsBilabial: true), ["qp"] = new(Viseme.PP, 0, IsBilabial: true),
        // ph: a voiceless fricative with the lips nearly closed (radius 0.24, f's is 0.5); not pressed, so not bilabial.
        ["f"] = new(Viseme.FF, .1f), ["v"] = new(Viseme.FF, .1f), ["ph"] = new(Viseme.FF, .1f),
        ["th"] = new(Viseme.TH, .2f), ["dh"] = new(Viseme.TH, .2f),
        ["t"] = new(Viseme.DD, .2f), ["d"] = new(Viseme.DD, .2f), ["tx"] = new(Viseme.DD, .2f), ["dx"] = new(Viseme.DD, .2f), ["qt"] = new(Viseme.DD, .2f),
        ["gs"] = new(Viseme.DD, .2f),
        ["k"] = new(Viseme.KK, .3f), ["g"] = new(Viseme.KK, .3f), ["kx"] = new(Viseme.KK, .3f), ["qk"] = new(Viseme.KK, .3f), ["x"] = new(Viseme.KK, .3f),
        ["ng"] = new(Viseme.KK, .25f),
        ["sh"] = new(Viseme.CH, .2f), ["zh"] = new(Viseme.CH, .2f), ["ch"] = new(Viseme.CH, .2f), ["j"] = new(Viseme.CH, .2f), ["qc"] = new(Viseme.CH, .2f),
        ["s"] = new(Viseme.SS, .15f), ["z"] = new(Viseme.SS, .15f), ["qs"] = new(Viseme.SS, .15f), ["qz"] = new(Viseme.SS, .15f),
        ["n"] = new(Viseme.NN, .15f), ["l"] = new(Viseme.NN, .25f), ["ll"] = new(Viseme.NN, .25f), ["ls"] = new(Viseme.NN, .25f),
        ["r"] = new(Viseme.RR, .25f), ["rr"] = new(Viseme.RR, .25f), ["er"] = new(Viseme.RR, .4f),
        ["w"] = new(Viseme.OU, .15f, Rounding.Rounded), ["y"] = new(Viseme.IH, .2f),
        ["h"] = new(Viseme.E, .4f), ["hh"] = new(Viseme.E, .4f), ["hv"] = new(Viseme.E, .4f),
        // Vowels: ar (father) as aa; aa (hat) as ae; ah (the start of buy and brown) as ay and aw; aw (bought) as ao; a (cup)
        // as ah; e (bed) as eh; i (kit, and fleece: "see" s_i) as ih, ee as iy; uh (schwa; oh and ov are schwas too) as ax;
        // u (foot) as uh; uu (goose) as uw. The nasal vowels of French words (an, in, on, un) as their oral vowels.
        ["ar"] = new(Viseme.AA, 1f), ["an"] = new(Viseme.AA, 1f), ["aa"] = new(Viseme.AA, .9f), ["in"] = new(Viseme.AA, .9f), ["ah"] = new(Viseme.AA, .9f),
        ["aw"] = new(Viseme.OH, .7f, Rounding.Rounded), ["o"] = new(Viseme.OH, .8f, Rounding.Rounded), ["on"] = new(Viseme.OH, .8f, Rounding.Rounded),
        ["a"] = new(Viseme.E, .75f), ["e"] = new(Viseme.E, .65f, Rounding.Spread),
        ["uh"] = new(Viseme.E, .45f), ["oh"] = new(Viseme.E, .45f), ["ov"] = new(Viseme.E, .45f), ["un"] = new(Viseme.E, .45f),
        ["i"] = new(Viseme.IH, .3f, Rounding.Spread), ["ee"] = new(Viseme.IH, .25f, Rounding.Spread),
        ["u"] = new(Viseme.OU, .3f, Rounding.Rounded), ["uu"] = new(Viseme.OU, .3f, Rounding.Rounded),
    };

    // festival's voices in other languages name their phones in SAMPA-like sets; these classes are shared, with each
    // language's own names below. Long vowels (":") and stress ("1") are stripped before looking up.
    private static readonly Dictionary<string, PhonemeClass> s_sampa = new(StringComparer.Ordinal)
    {
        ["p"] = new(Viseme.PP, 0, IsBilabial: true), ["b"] = new(Viseme.PP, 0, IsBilabial: true), ["m"] = new(Viseme.PP, 0, IsBilabial: true),
        ["f"] = new(Viseme.FF, .1f), ["v"] = new(Viseme.FF, .1f), ["nf"] = new(Viseme.FF, .1f), ["T"] = new(Viseme.TH, .2f), ["D"] = new(Viseme.TH, .2f),
        ["t"] = new(Viseme.DD, .2f), ["d"] = new(Viseme.DD, .2f), ["k"] = new(Viseme.KK, .3f), ["g"] = new(Viseme.KK, .3f),
        ["N"] = new(Viseme.KK, .25f), ["ng"] = new(Viseme.KK, .25f),
        ["S"] = new(Viseme.CH, .2f), ["Z"] = new(Viseme.CH, .2f), ["tS"] = new(Viseme.CH, .2f), ["dZ"] = new(Viseme.CH, .2f),
        ["s"] = new(Viseme.SS, .15f), ["z"] = new(Viseme.SS, .15f), ["ts"] = new(Viseme.SS, .15f), ["dz"] = new(Viseme.SS, .15f),
        ["n"] = new(Viseme.NN, .15f), ["J"] = new(Viseme.NN, .15f), ["l"] = new(Viseme.NN, .25f), ["L"] = new(Viseme.NN, .25f),
        ["r"] = new(Viseme.RR, .25f), ["rr"] = new(Viseme.RR, .25f),
        ["w"] = new(Viseme.OU, .15f, Rounding.Rounded), ["j"] = new(Viseme.IH, .2f), ["h"] = new(Viseme.E, .4f),
        ["a"] = new(Viseme.AA, .9f), ["e"] = new(Viseme.E, .6f, Rounding.Spread), ["E"] = new(Viseme.E, .65f, Rounding.Spread),
        ["ax"] = new(Viseme.E, .45f), ["@"] = new(Viseme.E, .45f), ["i"] = new(Viseme.IH, .3f, Rounding.Spread),
        ["o"] = new(Viseme.OH, .55f, Rounding.Rounded), ["O"] = new(Viseme.OH, .7f, Rounding.Rounded), ["u"] = new(Viseme.OU, .3f, Rounding.Rounded),
    };

    private static readonly Dictionary<string, Dictionary<string, PhonemeClass>> s_languages = new(StringComparer.Ordinal)
    {
        ["it"] = [],
        ["ca"] = [],
        // Finnish: @ is ä, 7 is ö, y is ü.
        ["fi"] = new(StringComparer.Ordinal) { ["@"] = new(Viseme.AA, .85f), ["7"] = new(Viseme.OH, .5f, Rounding.Rounded), ["y"] = new(Viseme.OU, .3f, Rounding.Rounded) },
        // Czech: c is ts, ch is x, ~ marks č š ž ř ď ť ň, * a syllabic consonant.
        ["cs"] = new(StringComparer.Ordinal)
        {
            ["c"] = new(Viseme.SS, .15f), ["ch"] = new(Viseme.KK, .3f), ["c~"] = new(Viseme.CH, .2f), ["s~"] = new(Viseme.CH, .2f), ["z~"] = new(Viseme.CH, .2f),
            ["dz~"] = new(Viseme.CH, .2f), ["d~"] = new(Viseme.DD, .2f), ["t~"] = new(Viseme.DD, .2f), ["n~"] = new(Viseme.NN, .15f), ["n*"] = new(Viseme.NN, .15f),
            ["r~"] = new(Viseme.RR, .25f), ["r~*"] = new(Viseme.RR, .25f),
        },
    };

    /// <summary>The class of a phone as <paramref name="voice"/>'s engine and language name it.</summary>
    public static PhonemeClass Classify(string name, TtsVoice voice) =>
        voice.Language == "en" ? Classify(name, voice.Engine)
        : TryClassify(name, voice.Language, out var known) ? known
        : throw new ArgumentException($"{voice} made the phone '{name}', which no table classifies.", nameof(name));

    /// <summary>The class of a phone of festival's voices in <paramref name="language"/>; pauses are silence.</summary>
    public static bool TryClassify(string name, string language, out PhonemeClass phoneme)
    {
        if (name is "#" or "##" or "_" or "pau")
        {
            phoneme = new(Viseme.Sil, 0);
            return true;
        }
        var own = s_languages.GetValueOrDefault(language) ?? throw new ArgumentException($"No phone table for language '{language}'.", nameof(language));
        var bare = name.Length > 1 ? name.TrimEnd(':', '1') : name;
        return own.TryGetValue(name, out phoneme) || own.TryGetValue(bare, out phoneme) || s_sampa.TryGetValue(bare, out phoneme);
    }

    /// <summary>The class of a phone as <paramref name="engine"/> names it.</summary>
    public static PhonemeClass Classify(string name, SpeechEngine engine) =>
        engine == SpeechEngine.EspeakNg ? Classify(name)
        : engine == SpeechEngine.GnuSpeech ? ClassifyPosture(name)
        : s_arpabet.TryGetValue(name, out var known) ? known
        // pau, h#, brth, ssil: pauses and breaths.
        : new(Viseme.Sil, 0);

    /// <summary>The class of a GnuSpeech posture; "_" is before the first (<see cref="LabelledClip.ClassAt"/>).</summary>
    private static PhonemeClass ClassifyPosture(string name) =>
        name == "_" ? new(Viseme.Sil, 0)
        : s_gnuSpeech.TryGetValue(name.TrimEnd('\''), out var known) ? known
        : throw new ArgumentException($"'{name}' is no GnuSpeech posture (monet.xml names them all).", nameof(name));

    /// <summary>The class of an espeak-ng phoneme mnemonic; unknown names fall back on their first letter.</summary>
    public static PhonemeClass Classify(string name)
    {
        if (name.Length == 0 || name[0] == '_' || name is ";" or "|" or "||" or "'" or ",")
        {
            return new(Viseme.Sil, 0);
        }
        if (s_table.TryGetValue(name, out var known))
        {
            return known;
        }
        // Variants carry suffixes ("a2", "i;", "@3"): try shorter prefixes.
        for (var length = name.Length - 1; length > 0; length--)
        {
            if (s_table.TryGetValue(name[..length], out var prefix))
            {
                return prefix;
            }
        }
        return new(Viseme.E, .4f);
    }
}
