/* caselab_essay: autosave the draft while typing, submit, show the receipt and the mark. */
function CaseLabEssay(runtime, element, args) {
    var $root = $(element), $form = $root.find('.caselab-essay-form'), $body = $form.find('textarea');
    var timer = null, lastSaved = $body.val();

    var handlers = CaseLabHandlers(runtime, element), post = handlers.post, errorOf = handlers.errorOf;
    function words(text) {
        var found = text.match(/[^\s.,;:!?()\[\]{}"“”'‘’…\-–—]+/g);
        return found ? found.length : 0;
    }
    function save() {
        var text = $body.val();
        if (text === lastSaved) { return; }
        post('save_draft', {body: text}).done(function (answer) {
            lastSaved = text;
            $form.find('.caselab-autosave').text(args.saved + ' ' + answer.saved_at);
        }).fail(function (xhr) { $form.find('.caselab-message').text(errorOf(xhr)); });
    }

    $body.on('input', function () {
        $form.find('.caselab-words').text(words($body.val()));
        clearTimeout(timer);
        timer = setTimeout(save, (args.autosave_seconds || 5) * 1000);
    });
    $form.on('click', '.caselab-save', function () { clearTimeout(timer); save(); });
    $form.on('submit', function (event) {
        event.preventDefault();
        if (!window.confirm(args.confirm)) { return; }
        clearTimeout(timer);
        $form.find('button').prop('disabled', true);
        post('submit', {body: $body.val()})
            .done(function (answer) {
                $root.find('.caselab-receipt-box').html(answer.html);
                $form.find('.caselab-message').text('');
            })
            .fail(function (xhr) { $form.find('.caselab-message').text(errorOf(xhr)); })
            .always(function () { $form.find('button').prop('disabled', false); });
    });
}
