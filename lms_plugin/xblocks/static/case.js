/* caselab_case: take decisions through the block's handlers; the server renders the player. */
function CaseLabCase(runtime, element, args) {
    var $root = $(element);

    var handlers = CaseLabHandlers(runtime, element), post = handlers.post, errorOf = handlers.errorOf;
    function show(html) {
        $root.find('.caselab-player').html(html);
        var latest = $root.find('.caselab-latest .caselab-feedback');
        if (latest.length) { latest.attr('tabindex', '-1').focus(); }
    }

    $root.on('submit', '.caselab-stage', function (event) {
        event.preventDefault();
        var $form = $(this), choice = $form.find('input[name=choice]:checked').val();
        if (!choice) { $form.find('.caselab-message').text(args.choose_first); return; }
        $form.find('button').prop('disabled', true);
        post('choose', {stage: $form.attr('data-stage'), choice: choice})
            .done(function (answer) { show(answer.html); })
            .fail(function (xhr) {
                $form.find('.caselab-message').text(errorOf(xhr));
                $form.find('button').prop('disabled', false);
            });
    });

    $root.on('click', '.caselab-retry', function () {
        var $button = $(this).prop('disabled', true);
        post('restart').done(function (answer) { show(answer.html); })
            .fail(function () { $button.prop('disabled', false); });
    });
}
